import { watch } from 'node:fs';
import { basename, dirname, relative } from 'node:path';
import { ConfigError } from '../config/config-error.js';
import { ensureFirstRunKey } from '../config/first-run-key.js';
import { loadConfig } from '../config/load-config.js';
import type { RelayConfig } from '../config/relay-config.js';
import { settingsNeedingRestart } from '../config/start-only-settings.js';
import { withoutCredentials } from '../config/upstream-proxy.js';
import { passwordsOf, upstreamSecrets } from '../config/upstream-secrets.js';
import { createLoggers } from '../observability/create-logger.js';
import { createRelayServer } from '../server/create-relay-server.js';
import { openBackends } from '../server/open-backends.js';
import { keyFileFailure, listenFailure, storeFailure } from './start-failure.js';

export interface ServeOptions {
  /** Seconds `/ready` reports 503 before the listener closes, so load balancers stop sending traffic. */
  drainDelayMs: number;
  /** How long in-flight requests and streams may take to finish after SIGTERM. */
  gracePeriodMs: number;
}

/** How long past the grace period closing may take (the ledger's last write) before the process stops itself. */
const shutdownOverrunMs = 3_000;

/** `relay serve`: loads the configuration, listens, and shuts down gracefully on SIGTERM/SIGINT. */
export async function serve(options: ServeOptions): Promise<void> {
  const loaded = loadConfig();
  let config: typeof loaded;
  try {
    config = ensureFirstRunKey(loaded);
  } catch (error) {
    throw keyFileFailure(loaded, error);
  }
  const { logger, access, setSecrets } = createLoggers({ level: config.logLevel, secrets: secretsToRedact(config) });
  const backends = await openBackends(config, logger).catch((error: unknown) => {
    throw storeFailure(config, error);
  });
  const server = createRelayServer(config, { logger, accessLog: access, ...backends });

  const address = await server.listen().catch(async (error: unknown) => {
    // What opened is closed, so that the process can end with the message.
    await server.close(Date.now()).catch(() => undefined);
    throw listenFailure(config, error);
  });
  // Config reload on SIGHUP or when the file changes: a bad new config is refused and the old one stays.
  // Set up before `relay listening` is logged, so that a SIGHUP sent on that line reloads rather than
  // ending the process (a signal's default action).
  let reloadTimer: NodeJS.Timeout | undefined;
  const reload = (trigger: string) => {
    try {
      const next = ensureFirstRunKey(loadConfig());
      server.reload(next);
      setSecrets(secretsToRedact(next));
      // Compared with the start, not the last reload: until a restart, every reload says what still waits for one.
      const needsRestart = settingsNeedingRestart(config, next);
      if (needsRestart.length === 0) logger.info({ trigger, configFile: next.configFile }, 'configuration reloaded');
      else {
        logger.warn(
          { trigger, configFile: next.configFile, needsRestart },
          `configuration reloaded, except settings read only at start: restart the relay to apply ${needsRestart.join(', ')} (the running values stay until then)`,
        );
      }
    } catch (error) {
      const problems = error instanceof ConfigError ? error.problems : [String(error)];
      logger.error({ trigger, problems }, 'configuration reload refused: the running configuration stays');
    }
  };
  process.on('SIGHUP', () => reload('SIGHUP'));
  if (config.configFile !== undefined) {
    const file = basename(config.configFile);
    // The folder is watched, not the file: editors replace files by renaming, and Kubernetes swaps a
    // ConfigMap's `..data` link, both of which a watch on the file itself would miss.
    const watcher = watch(dirname(config.configFile), (_event, changed) => {
      if (changed !== null && changed !== file && !changed.startsWith('..')) return;
      // Editors write files in several steps: wait for the last one.
      clearTimeout(reloadTimer);
      reloadTimer = setTimeout(() => reload('file change'), 200);
    });
    watcher.unref();
  }

  const providers = [...config.providers.values()].map((provider) => `${provider.name} (${provider.type}, ${provider.baseUrl}, from ${provider.source})`);
  logger.info(
    {
      url: `http://${address.host === '0.0.0.0' ? '127.0.0.1' : address.host}:${address.port}`,
      providers,
      configFile: config.configFile,
      store: backends.store.kind,
      limits: config.redisUrl === undefined ? 'memory' : 'redis',
      ...(config.upstreamProxy === undefined ? {} : { upstreamProxy: { http: shown(config.upstreamProxy.http), https: shown(config.upstreamProxy.https), noProxy: config.upstreamProxy.noProxy } }),
    },
    'relay listening',
  );
  if (backends.store.kind === 'sqlite' && (process.env.KUBERNETES_SERVICE_HOST ?? '') !== '') {
    // The manifests run several pods: each would have its own keys, accounts, ledger and sessions.
    logger.warn(
      'running in Kubernetes on a SQLite file of this pod: keys, accounts, usage and dashboard sessions made here exist in this pod only (other replicas answer such keys with 401). With more than one replica set DATABASE_URL (and REDIS_URL for shared limits): deploy/README.md',
    );
  }
  if (config.mockOnly) {
    logger.warn(
      'no upstream is configured: serving only the built-in mock models (mock-*). Set HOLYSHEEP_API_KEY (or OPENAI_API_KEY, ANTHROPIC_API_KEY, GEMINI_API_KEY, DEEPSEEK_API_KEY, or providers in relay.yaml) to relay real models.',
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
    const deadline = Date.now() + options.drainDelayMs + options.gracePeriodMs;
    server.services.lifecycle.draining = true;
    logger.info({ signal, drainDelayMs: options.drainDelayMs, gracePeriodMs: options.gracePeriodMs }, 'shutting down: readiness is now 503');
    const force = setTimeout(() => {
      logger.warn('grace period over: closing the remaining connections');
      server.app.server.closeAllConnections();
    }, options.drainDelayMs + options.gracePeriodMs);
    force.unref();
    // A store that takes a write and never answers (a network that drops packets) would hold the
    // shutdown until the kubelet's SIGKILL: the process stops itself a little after the grace
    // period instead, saying how many usage records it could not write.
    const abandon = setTimeout(() => {
      logger.error(
        { unwrittenUsageRecords: server.services.ledger.pending },
        'shutdown failed: the store did not answer by the end of the grace period; exiting with the usage records still unwritten',
      );
      process.exit(1);
    }, options.drainDelayMs + options.gracePeriodMs + shutdownOverrunMs);
    abandon.unref();
    setTimeout(() => {
      server
        .close(deadline)
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

/**
 * What no log line may show: every upstream credential (providers' keys and credential headers,
 * deployments' own keys), the master key, and the database and Redis URLs (whole, and their
 * passwords alone, as a driver's message may quote them).
 */
function secretsToRedact(config: RelayConfig): string[] {
  const secrets = [...upstreamSecrets(config), process.env.RELAY_MASTER_KEY?.trim() ?? ''];
  // Not a URL: the whole value is searched for.
  for (const url of [config.databaseUrl, config.redisUrl]) if (url !== undefined) secrets.push(url, ...passwordsOf(url));
  return secrets;
}


/** A proxy URL without its credentials, for the start-up line. */
function shown(url: string | undefined): string | undefined {
  return url === undefined ? undefined : withoutCredentials(url);
}
