import { Writable } from 'node:stream';
import { loadConfig } from '../../src/config/load-config.js';
import type { RelayConfig } from '../../src/config/relay-config.js';
import { createLoggers } from '../../src/observability/create-logger.js';
import { createRelayServer, type RelayServer } from '../../src/server/create-relay-server.js';
import type { LimitStore } from '../../src/limits/limit-store.js';
import type { RelayStore } from '../../src/store/relay-store.js';

export const masterKey = 'sk-relay-test-master-key-0123456789';

export interface StartedRelay {
  url: string;
  /** Base URL for the OpenAI SDK. */
  baseURL: string;
  server: RelayServer;
  config: RelayConfig;
  /** Every log line written so far, parsed. */
  logs: Array<Record<string, unknown>>;
  /** The raw log output, for "never appears" checks. */
  rawLogs(): string;
  close(): Promise<void>;
}

/** Starts a relay in this process on a free port, configured from the given environment. */
export async function startRelay(
  environment: Record<string, string | undefined>,
  cwd?: string,
  backends: { store?: RelayStore; limits?: LimitStore; longestRequestMs?: number } = {},
): Promise<StartedRelay> {
  const fullEnvironment = { RELAY_MASTER_KEY: masterKey, LOG_LEVEL: 'info', ...environment, PORT: '0', HOST: '127.0.0.1' };
  const config = loadConfig({ environment: fullEnvironment, cwd: cwd ?? '/nonexistent-relay-test-dir' });
  let raw = '';
  const logs: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      raw += chunk.toString('utf8');
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') logs.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  const secrets = [...config.providers.values()].map((provider) => provider.apiKey ?? '').concat(fullEnvironment.RELAY_MASTER_KEY ?? '');
  const { logger, access } = createLoggers({ level: config.logLevel, secrets, destination });
  const server = createRelayServer(config, { logger, accessLog: access, ...backends });
  const address = await server.listen();
  const url = `http://127.0.0.1:${address.port}`;
  return { url, baseURL: `${url}/v1`, server, config, logs, rawLogs: () => raw, close: () => server.close() };
}
