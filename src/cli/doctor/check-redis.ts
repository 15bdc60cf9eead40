import { Redis } from 'ioredis';
import type { RelayConfig } from '../../config/relay-config.js';
import { maskUrlPassword } from '../../observability/mask-url-password.js';
import { checkResult, type CheckResult } from './doctor-check.js';
import { CheckTimeoutError, errorCode, errorMessage, withTimeout } from './with-timeout.js';

/** REDIS_URL, when set: the shared counters of limits and budgets must answer a PING. */
export async function checkRedis(config: RelayConfig, timeoutMs: number): Promise<CheckResult> {
  if (config.redisUrl === undefined) {
    const replicas = config.limits.replicas > 1 ? ': with several replicas, each counts only its own requests' : '';
    return checkResult('redis', config.limits.replicas > 1 ? 'warn' : 'pass', `REDIS_URL is not set: limits and budgets are counted in memory${replicas}`, config.limits.replicas > 1 ? 'set REDIS_URL so every replica shares the counters.' : undefined);
  }
  const shown = maskUrlPassword(config.redisUrl);
  // One attempt, no queue, no reconnects: a diagnosis wants the first error, not a retry loop.
  const client = new Redis(config.redisUrl, { lazyConnect: true, connectTimeout: timeoutMs, commandTimeout: timeoutMs, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
  // The socket's own error (ECONNREFUSED, ENOTFOUND, NOAUTH…) comes as an event; connect() then only says "Connection is closed".
  let socketError: unknown;
  client.on('error', (error) => {
    socketError ??= error;
  });
  try {
    await withTimeout(client.connect(), timeoutMs);
    const answer = await withTimeout(client.ping(), timeoutMs);
    const persistence = await redisPersistence(client, timeoutMs);
    if (persistence === 'none') {
      return checkResult(
        'redis',
        'warn',
        `${shown}: PING → ${answer}; it keeps nothing across a restart (appendonly no, no save points)`,
        "after Redis restarts, balances and this period's budget spend come back from the database within 2 s (docs/billing.md), and prepaid requests are refused meanwhile; set appendonly yes to keep the counters.",
      );
    }
    return checkResult('redis', 'pass', `${shown}: PING → ${answer}`);
  } catch (thrown) {
    const error = thrown instanceof CheckTimeoutError ? thrown : (socketError ?? thrown);
    const message = errorMessage(error);
    const what = error instanceof CheckTimeoutError ? `no answer within ${timeoutMs} ms` : message.includes(errorCode(error)) ? message : `${errorCode(error)}: ${message}`;
    const policy =
      config.limits.onBackendFailure === 'fail-closed'
        ? 'While Redis is unreachable, serve refuses limited requests (503 limits_unavailable, limits.onBackendFailure: fail-closed).'
        : "While Redis is unreachable, each replica enforces its share of every limit (limits.onBackendFailure: fail-open).";
    return checkResult(
      'redis',
      'fail',
      `${shown}: ${what}`,
      [
        'check the host, port and password in REDIS_URL, and that Redis runs.',
        'In Kubernetes, the NetworkPolicy must allow egress on TCP 6379 (deploy/kubernetes/networkpolicy.yaml allows pods labelled',
        'app.kubernetes.io/name: redis in the namespace; a managed Redis needs an ipBlock rule):',
        '  kubectl -n relay get networkpolicy relay-egress -o yaml',
        policy,
      ].join('\n'),
    );
  } finally {
    client.disconnect();
  }
}

/**
 * Whether Redis keeps its data across a restart: 'none' with neither AOF nor RDB save points, else
 * 'kept'; 'unknown' where CONFIG is not allowed (most managed Redis services).
 */
async function redisPersistence(client: Redis, timeoutMs: number): Promise<'none' | 'kept' | 'unknown'> {
  try {
    const [, appendonly] = (await withTimeout(client.config('GET', 'appendonly'), timeoutMs)) as string[];
    const [, save] = (await withTimeout(client.config('GET', 'save'), timeoutMs)) as string[];
    return appendonly === 'no' && save === '' ? 'none' : 'kept';
  } catch {
    return 'unknown';
  }
}
