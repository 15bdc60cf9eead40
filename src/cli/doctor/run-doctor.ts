import { checkConfiguration } from './check-configuration.js';
import { checkDatabase } from './check-database.js';
import { checkModelNames } from './check-model-names.js';
import { checkRedis } from './check-redis.js';
import { checkUpstream } from './check-upstream.js';
import { checkResult, type CheckResult } from './doctor-check.js';
import { upstreamSecrets } from '../../config/upstream-secrets.js';
import { upstreamDispatcher } from '../../providers/upstream-dispatcher.js';
import { collectSecrets, scrubSecrets } from './scrub-secrets.js';
import { listUpstreamTargets } from './upstream-target.js';
import { errorMessage } from './with-timeout.js';

export interface DoctorOptions {
  /** How long each network step (DNS, connect, HTTP call, database, Redis) may take. */
  timeoutMs: number;
  environment?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** What `relay doctor` found; `ok` is false when any check failed (warnings do not count). */
export interface DoctorReport {
  ok: boolean;
  checks: CheckResult[];
}

/**
 * Runs every check: the configuration first (the others need it), then the upstreams, the store and
 * Redis concurrently, each step bounded by the timeout. The report keeps a fixed order (configuration,
 * upstreams in config order, model names, storage) whatever finished first, and is scrubbed of every
 * secret before anyone sees it.
 */
export async function runDoctor(options: DoctorOptions): Promise<DoctorReport> {
  const environment = options.environment ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const configuration = checkConfiguration(environment, cwd);
  const config = configuration.config;
  const results = [...configuration.results];
  const secrets: Array<string | undefined> = [environment.RELAY_MASTER_KEY];

  if (config !== undefined) {
    // Providers' keys and credential headers, deployments' own keys.
    secrets.push(...upstreamSecrets(config));
    const targets = listUpstreamTargets(config, environment);
    // Local and quick: first, so that where aliases and fallbacks lead can be compared with the upstreams' lists.
    const modelNames = await guard('model names', async () => checkModelNames(config));
    const names = Array.isArray(modelNames) ? { results: modelNames, upstreamModels: [] } : modelNames;
    for (const use of names.upstreamModels) {
      const target = targets.find((candidate) => candidate.settings.name === use.provider);
      if (target !== undefined && !target.routedModels.has(use.model)) target.routedModels.set(use.model, use.where);
    }

    // Through the proxy the relay's calls take, when one is set.
    const proxy = config.upstreamProxy;
    const dispatcher = upstreamDispatcher({ connect: { timeout: options.timeoutMs } }, proxy);
    try {
      const [upstreams, database, redis] = await Promise.all([
        Promise.all(targets.map((target) => guard(`upstream ${target.settings.name}`, () => checkUpstream(target, dispatcher, options.timeoutMs, proxy)))),
        guard('database', async () => [await checkDatabase(config, cwd, options.timeoutMs)]),
        guard('redis', async () => [await checkRedis(config, options.timeoutMs)]),
      ]);
      results.push(...upstreams.flat(), ...names.results, ...database, ...redis);
    } finally {
      await dispatcher.destroy().catch(() => {});
    }
  }

  const checks = scrubSecrets(results, collectSecrets(environment, secrets));
  return { ok: !checks.some((check) => check.status === 'fail'), checks };
}

/** A check that throws (a bug, an unexpected driver error) becomes a failed line, not a crashed doctor. */
async function guard<T>(name: string, check: () => Promise<T>): Promise<T | CheckResult[]> {
  try {
    return await check();
  } catch (error) {
    return [checkResult(name, 'fail', `the check itself failed: ${errorMessage(error)}`, 'please report this with the line above.')];
  }
}
