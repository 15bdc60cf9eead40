import { relative } from 'node:path';
import { ensureFirstRunKey } from '../config/first-run-key.js';
import { loadConfig } from '../config/load-config.js';
import { createLogger } from '../observability/create-logger.js';
import { createRelayServer } from '../server/create-relay-server.js';

export interface ServeOptions {
  /** Seconds `/ready` reports 503 before the listener closes, so load balancers stop sending traffic. */
  drainDelayMs: number;
  /** How long in-flight requests and streams may take to finish after SIGTERM. */
  gracePeriodMs: number;
}

/** `relay serve`: loads the configuration, listens, and shuts down gracefully on SIGTERM/SIGINT. */
export async function serve(options: ServeOptions): Promise<void> {
  const config = ensureFirstRunKey(loadConfig());
  const secrets = [...config.providers.values()].map((provider) => provider.apiKey ?? '').concat(process.env.RELAY_MASTER_KEY ?? '');
  const logger = createLogger({ level: config.logLevel, secrets });
  const server = createRelayServer(config, { logger });

  const address = await server.listen();
  const providers = [...config.providers.values()].map((provider) => `${provider.name} (${provider.type}, ${provider.baseUrl}, from ${provider.source})`);
  logger.info({ url: `http://${address.host === '0.0.0.0' ? '127.0.0.1' : address.host}:${address.port}`, providers, configFile: config.configFile }, 'relay listening');
  if (config.mockOnly) {
    logger.warn(
      'no upstream is configured: serving only the built-in mock models (mock-*). Set HOLYSHEEP_API_KEY (or OPENAI_API_KEY, DEEPSEEK_API_KEY, or providers in relay.yaml) to relay real models.',
    );
  }
  if (config.generatedMasterKeyFile !== undefined) {
    logger.warn(
      { keyFile: relative(process.cwd(), config.generatedMasterKeyFile) || config.generatedMasterKeyFile },
      'no client key is configured (RELAY_MASTER_KEY is unset): using a generated master key stored in the key file; set RELAY_MASTER_KEY in production',
    );
  }

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    server.services.lifecycle.draining = true;
    logger.info({ signal, drainDelayMs: options.drainDelayMs, gracePeriodMs: options.gracePeriodMs }, 'shutting down: readiness is now 503');
    const force = setTimeout(() => {
      logger.warn('grace period over: closing the remaining connections');
      server.app.server.closeAllConnections();
    }, options.drainDelayMs + options.gracePeriodMs);
    force.unref();
    setTimeout(() => {
      server
        .close()
        .then(() => {
          logger.info('shutdown complete');
          logger.flush();
          process.exit(0);
        })
        .catch((error: unknown) => {
          logger.error({ detail: String(error) }, 'shutdown failed');
          process.exit(1);
        });
    }, options.drainDelayMs).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
