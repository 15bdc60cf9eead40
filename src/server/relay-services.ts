import type { FastifyBaseLogger } from 'fastify';
import type { KeyStore } from '../auth/key-store.js';
import type { RelayConfig } from '../config/relay-config.js';
import type { ModelRouter } from '../routing/model-router.js';

/** Whether the process takes traffic: not before it listens, and not while it drains for shutdown. */
export interface Lifecycle {
  ready: boolean;
  draining: boolean;
}

/** Everything the HTTP layer needs, built once at start. */
export interface RelayServices {
  config: RelayConfig;
  router: ModelRouter;
  keys: KeyStore;
  lifecycle: Lifecycle;
  logger: FastifyBaseLogger;
  /** Epoch seconds of start, reported as `created` in the models list. */
  startedAtSeconds: number;
}
