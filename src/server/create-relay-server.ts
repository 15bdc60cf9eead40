import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import cors from '@fastify/cors';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import pino, { type Logger } from 'pino';
import { authenticate, readClientKey } from '../auth/authenticate.js';
import { SignInThrottle, signInThrottled } from '../auth/sign-in-throttle.js';
import { StaticKeyStore } from '../auth/key-store.js';
import { upstreamConnectTimeoutMs, type RelayConfig } from '../config/relay-config.js';
import { ThinkingBlockCache } from '../providers/anthropic/anthropic-thinking.js';
import { createProvider, type SharedProviderState } from '../providers/create-provider.js';
import type { Provider } from '../providers/provider.js';
import type { CanaryController } from '../routing/canary-controller.js';
import { DeploymentRegistry } from '../routing/deployment.js';
import { ModelRouter } from '../routing/model-router.js';
import { StoredKeyCache } from '../auth/stored-key-cache.js';
import { parseMoney, resolveExchangeRates, type Currency } from '../billing/money.js';
import { PriceTable } from '../billing/price-table.js';
import { LedgerWriter } from '../ledger/ledger-writer.js';
import { AdmissionControl } from '../limits/admission-control.js';
import type { LimitStore } from '../limits/limit-store.js';
import { MemoryLimitStore } from '../limits/memory-limit-store.js';
import { MemoryRelayStore } from '../store/memory-relay-store.js';
import type { RelayStore } from '../store/relay-store.js';
import { newId } from '../store/new-id.js';
import { restoreCounters, watchCounters } from './restore-counters.js';
import { RelayError } from '../spec/relay-error.js';
import { searchableSecrets } from '../spec/redact-secrets.js';
import { upstreamSecrets } from '../config/upstream-secrets.js';
import { upstreamDispatcher } from '../providers/upstream-dispatcher.js';
import type { RelayServices } from './relay-services.js';
import { relayErrorHandler } from './relay-error-handler.js';
import { clientErrorHandler } from './answer-client-error.js';
import { compileRequestValidator } from './compile-request-validator.js';
import { finishRequest } from './finish-request.js';
import { newRequestState } from './request-state.js';
import { newRequestId } from './new-request-id.js';
import { registerAdminAccounts } from './admin/admin-accounts.js';
import { registerAdminKeys } from './admin/admin-keys.js';
import { registerAdminUsage } from './admin/admin-usage.js';
import { registerAdminRouting } from './routes/admin-routing.js';
import { authenticateAdminRequest } from './dashboard/authenticate-admin-request.js';
import { DashboardSessions } from './dashboard/dashboard-sessions.js';
import { registerDashboard } from './dashboard/register-dashboard.js';
import { registerMetricsRoute } from './routes/metrics-route.js';
import { RelayMetrics } from '../metrics/relay-metrics.js';
import { LimitsBackendUnavailableError, ResilientLimitStore } from '../limits/resilient-limit-store.js';
import { SseWriter } from './sse-writer.js';
import { AccessLog, type LineSink } from '../observability/access-log.js';
import { registerAnthropicMessages } from './routes/anthropic-messages.js';
import { registerChatCompletions } from './routes/chat-completions.js';
import { registerResponses } from './routes/responses.js';
import { registerEmbeddingsAndCompletions } from './routes/embeddings-and-completions.js';
import { registerModelsAndHealth } from './routes/models-and-health.js';

export interface RelayServer {
  app: FastifyInstance;
  services: RelayServices;
  /** Listens and marks the relay ready; resolves to the bound address. */
  listen(): Promise<{ port: number; host: string; url: string }>;
  /**
   * Stops accepting, lets in-flight requests end, writes the ledger's queue and closes upstream
   * pools. A store that fails is retried until `deadline` (epoch ms; a few attempts without one);
   * rejects, once everything is closed, when usage records could not be written.
   */
  close(deadline?: number): Promise<void>;
  /**
   * Swaps in a new configuration's routes, providers and keys. Requests in flight finish with the
   * ones they started with; upstream connection pools, deployment health and canaries carry over.
   * Listening settings (port, host, body limit) need a restart.
   */
  reload(config: RelayConfig): void;
}

export interface CreateRelayServerOptions {
  logger: Logger;
  /** Where the access lines go; `logger`'s destination when absent. */
  accessLog?: AccessLog;
  /** Keys, accounts and ledger; an in-memory store when absent (tests). */
  store?: RelayStore;
  /** Counters for limits and budgets; in memory when absent. */
  limits?: LimitStore;
  /** How long a request's reservation is renewed at most (a day; tests shorten it). */
  longestRequestMs?: number;
  /** The built dashboard (default: the package's `dist/web`); tests point it at fixtures. */
  dashboardDirectory?: string;
}

const requestIdPattern = /^[A-Za-z0-9._:-]{1,128}$/;

type CompilersFactory = NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>;

const requestOfResponse = Symbol('relay request');
/** A raw response that knows its request, for the one close listener all responses share. */
type ResponseOfRequest = ServerResponse & { [requestOfResponse]: FastifyRequest };

/**
 * Request bodies are validated by TypeBox and no route has a response schema. Given both compilers,
 * Fastify does not load Ajv and fast-json-stringify when an instance is made (~25 ms of the start;
 * the bundle leaves them out).
 */
const schemaController = {
  compilersFactory: {
    // Typed for Ajv's compiler; Fastify calls what it returns as any schema compiler.
    buildValidator: (() => compileRequestValidator) as unknown as CompilersFactory['buildValidator'],
    buildSerializer: () => () => (data: unknown) => JSON.stringify(data),
  },
};

/** What a browser application may send and read across origins. */
const corsSettings = {
  methods: ['GET', 'POST', 'DELETE'],
  // The headers the relay answers with that clients read (the SDKs read x-request-id, retry-after, retry-after-ms and x-should-retry).
  exposedHeaders: [
    'x-request-id',
    'x-relay-model',
    'x-relay-provider',
    'x-relay-attempts',
    'x-relay-fallback',
    'x-relay-dropped-params',
    'x-relay-max-tokens',
    'retry-after',
    'retry-after-ms',
    'x-should-retry',
    'x-ratelimit-limit-requests',
    'x-ratelimit-remaining-requests',
    'x-ratelimit-limit-tokens',
    'x-ratelimit-remaining-tokens',
  ],
  maxAge: 600,
};

/**
 * The answer to a request that arrives while the relay closes, on a connection kept alive from
 * before: nothing of it was done, so the SDKs are told to send it again (`x-should-retry`), on a new
 * connection that reaches another replica (or this relay once restarted).
 */
function shuttingDown(): RelayError {
  return new RelayError('The relay is shutting down and did not take this request. Send it again: another replica (or this one, restarted) will answer it.', {
    status: 503,
    type: 'server_error',
    code: 'shutting_down',
    headers: { 'x-should-retry': 'true', connection: 'close' },
  });
}

/** Builds the relay's HTTP server from a validated configuration. */
export function createRelayServer(config: RelayConfig, options: CreateRelayServerOptions): RelayServer {
  const dispatcher = upstreamDispatcher(
    { connections: config.connectionPoolSize, keepAliveTimeout: 30_000, connect: { timeout: upstreamConnectTimeoutMs(config) } },
    config.upstreamProxy,
  );
  const deployments = new DeploymentRegistry();
  const canaries = new Map<string, CanaryController>();
  // This process among the replicas that share canary state.
  const replica = newId('rep');
  // One for the process, whatever the provider, key or configuration (see AnthropicProvider).
  const shared: SharedProviderState = { thinkingBlocks: new ThinkingBlockCache() };
  // The configured name of each provider made for a deployment's own key (across reloads).
  const configuredNames = new WeakMap<Provider, string>();
  const buildRouter = (routerConfig: RelayConfig) => {
    const providers = new Map<string, Provider>();
    for (const settings of routerConfig.providers.values()) providers.set(settings.name, createProvider(settings, dispatcher, shared));
    return new ModelRouter(routerConfig, {
      registry: deployments,
      canaries,
      providerFor: (name, apiKey) => {
        const settings = routerConfig.providers.get(name);
        if (settings === undefined) throw new Error(`no provider named ${name}`);
        if (apiKey === undefined || apiKey === settings.apiKey) return providers.get(name) as Provider;
        // A deployment with its own key: same upstream, another key, its own health (the name says which key, never the key).
        const derivedName = `${name}#${createHash('sha256').update(apiKey).digest('hex').slice(0, 6)}`;
        let derived = providers.get(derivedName);
        if (derived === undefined) {
          derived = createProvider({ ...settings, name: derivedName, apiKey }, dispatcher, shared);
          providers.set(derivedName, derived);
          configuredNames.set(derived, name);
        }
        return derived;
      },
      providerNamed: (name) => providers.get(name),
      canaryStore: store.canaries,
      replica,
      onCanaryChange: (snapshot, check) => {
        if (check.action !== 'hold') options.logger.info({ model: snapshot.model, phase: snapshot.phase, weight: snapshot.weight, check }, 'canary changed');
      },
      onCanaryError: (model, error, during) => {
        options.logger.warn({ model, during, err: error }, 'canary state could not be read or written; this replica goes on with what it knows and retries');
      },
    });
  };

  // Set once the request state exists (below); the server's `clientError` handler, made with the server, calls it.
  let requestTimedOut: (response: ServerResponse) => void = () => {};
  const app = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger,
    // The relay writes one access line per request itself (finishRequest), with its own fields.
    logController: new LogController({ disableRequestLogging: true }),
    // No child logger per request: creating one (bindings, redaction) showed in the profile, and the
    // relay's own log lines carry the request id themselves.
    childLoggerFactory: (logger) => logger,
    bodyLimit: config.bodyLimitBytes,
    requestIdHeader: false,
    genReqId: (request) => {
      const incoming = request.headers['x-request-id'];
      return typeof incoming === 'string' && requestIdPattern.test(incoming) ? incoming : newRequestId();
    },
    // The time a client has to send its request, headers and body: a stalled upload is answered 408
    // and its connection closed. Node checks it only until the request has arrived: an answer,
    // a stream of minutes included, is bounded by the per-attempt upstream timeout instead.
    requestTimeout: config.requestTimeoutMs,
    http: {
      requestTimeout: config.requestTimeoutMs,
      // Node's default (60 s, within the request timeout), kept when the request timeout is off.
      headersTimeout: config.requestTimeoutMs === 0 ? 60_000 : Math.min(60_000, config.requestTimeoutMs),
      // Node looks for stalled requests every 30 s by default: often enough for a timeout of minutes, not for a short one.
      connectionsCheckingInterval: config.requestTimeoutMs === 0 ? 30_000 : Math.min(30_000, Math.max(100, Math.floor(config.requestTimeoutMs / 4))),
    },
    clientErrorHandler: clientErrorHandler(
      config.requestTimeoutMs,
      (response) => requestTimedOut(response),
      // Through the relay's `err` serializer: never the bytes Node could not parse (a key may be in them).
      (error, label) => options.logger.trace({ err: error }, `client ${label}`),
    ),
    connectionTimeout: 0,
    forceCloseConnections: 'idle',
    // A request that comes while closing is refused by the relay itself, in OpenAI's shape (see `shuttingDown`).
    return503OnClosing: false,
    schemaController,
    // `request.ip` (read only where failed sign-ins are counted) is then the client's address the proxies name.
    ...(config.trustProxy.length > 0 ? { trustProxy: config.trustProxy } : {}),
  });

  const store = options.store ?? new MemoryRelayStore();
  const limits = options.limits ?? new MemoryLimitStore();
  const rates = resolveExchangeRates(config.billing.exchangeRates);
  const prices = new PriceTable(config.billing.prices);
  const accountCurrencies = new Map<string, Currency>();
  let stopWatchingCounters = () => {};
  let creditChangesWaiting = 0;
  const storedKeys = new StoredKeyCache(store, new StaticKeyStore(config.masterKeySha256, config.clientKeys), {
    onError: (error) => options.logger.warn({ detail: String(error) }, 'key cache refresh failed; serving the keys already known'),
  });
  const signupCredit = config.billing.signupCredit;
  const services: RelayServices = {
    config,
    router: buildRouter(config),
    deployments,
    providerName: (provider) => configuredNames.get(provider) ?? provider.name,
    priceOf: (deployment) => prices.price(deployment.model)?.relay.output,
    keys: storedKeys,
    store,
    storedKeys,
    admission: new AdmissionControl({
      limits,
      prices,
      rates,
      longestRequestMs: options.longestRequestMs,
      currentKey: (keyId) => storedKeys.findById(keyId),
      accountCurrency: (accountId) => {
        const known = accountCurrencies.get(accountId);
        if (known !== undefined) return known;
        return store.accounts.get(accountId).then((account) => {
          if (account !== undefined) accountCurrencies.set(accountId, account.currency);
          return account?.currency;
        });
      },
    }),
    limits,
    billing: {
      rates,
      prices,
      signupCredit: signupCredit === undefined ? undefined : { amountMicros: parseMoney(signupCredit.amount, signupCredit.currency), currency: signupCredit.currency },
      defaultMaxTokens: config.billing.defaultMaxTokens,
    },
    ledger: new LedgerWriter(store.ledger, {
      flushIntervalMs: config.ledgerFlushIntervalMs,
      onError: (error, pending) => options.logger.error({ detail: String(error), pending }, 'ledger write failed; the records stay queued and are retried'),
      onInvalid: (error, record) => options.logger.error({ requestId: record.requestId, detail: String(error) }, 'ledger record refused; it is not stored'),
      onBudgeted: (records) =>
        void services.admission.chargeWritten(records).catch((error: unknown) => options.logger.warn({ detail: String(error) }, 'requests written to the ledger under a budget set meanwhile could not be counted in it')),
    }),
    metering: new Set(),
    lifecycle: { ready: false, draining: false },
    logger: app.log,
    upstreamSecrets: searchableSecrets(upstreamSecrets(config)),
    startedAtSeconds: Math.floor(Date.now() / 1000),
    signIns: new SignInThrottle({
      onLimit: (address) => app.log.warn({ address }, 'too many failed sign-ins from one address: keys from it are refused until a minute after its first failure'),
    }),
  };

  // Any content type is read as JSON: `curl -d` sends form encoding by default, and the intent is clear.
  // The same parser is also registered for JSON by name: Fastify caches the parser it finds for a
  // named type, while the catch-all is looked for again (its content type parsed anew) per request.
  app.removeAllContentTypeParsers();
  const parseBody = (_request: unknown, body: string | Buffer, done: (error: Error | null, body?: unknown) => void): void => {
    const text = body as string;
    try {
      done(null, JSON.parse(text));
    } catch (error) {
      done(
        text.trim() === ''
          ? new RelayError('The request body is empty. Send a JSON object.', { status: 400, type: 'invalid_request_error', code: 'invalid_json' })
          : new RelayError(`We could not parse the JSON body of your request: ${(error as Error).message}. Send valid JSON with "Content-Type: application/json".`, {
              status: 400,
              type: 'invalid_request_error',
              code: 'invalid_json',
            }),
        undefined,
      );
    }
  };
  app.addContentTypeParser('application/json', { parseAs: 'string' }, parseBody);
  app.addContentTypeParser('*', { parseAs: 'string' }, parseBody);

  // Registered before the hook that authenticates: a refused request (401, 429) still carries the
  // CORS headers, so that a browser application can read why. Preflights carry no key.
  if (config.corsOrigins.length > 0) {
    const origins = config.corsOrigins.includes('*') ? true : config.corsOrigins;
    void app.register(cors, {
      hook: 'onRequest',
      // The /v1 API only: the admin API and the dashboard stay same-origin.
      delegator: (request, callback) => callback(null, request.url?.startsWith('/v1/') ? { origin: origins, ...corsSettings } : { origin: false }),
    });
  }
  app.decorateRequest('relay', null as never);
  const inflight = { requests: 0 };
  /** A request whose body did not arrive within the request timeout: recorded as the relay's 408 (its connection is closed). */
  requestTimedOut = (response) => {
    const state = (response as Partial<ResponseOfRequest>)[requestOfResponse]?.relay;
    if (state === null || state === undefined) return;
    state.status = 408;
    state.errorCode = 'request_timeout';
  };
  /** Set once `close()` began: the listener is closing, and so is each connection as it goes idle. */
  let closing = false;
  const accessLog =
    options.accessLog ?? new AccessLog((options.logger as unknown as Record<symbol, LineSink>)[pino.symbols.streamSym] as LineSink, () => options.logger.isLevelEnabled('info'));
  // Signed-in dashboard browsers: the admin API takes their cookie in place of the master key.
  const dashboardSessions = new DashboardSessions(store.sessions);
  // One listener for every response (not a closure, nor a `once` wrapper, per request): it finds its request on the response.
  const onResponseClose = function (this: ResponseOfRequest): void {
    const request = this[requestOfResponse];
    inflight.requests--;
    request.relay.closed = true;
    finishRequest(request, this.headersSent ? this.statusCode : 499, !this.writableFinished, services, accessLog);
    request.relay.onClose?.closed(this.writableFinished);
    // Clients keep their connections alive: once closing, each one is closed as soon as its
    // response ends, or the process would wait out the grace period for connections with nothing on them.
    if (closing) app.server.closeIdleConnections();
  };
  // A callback hook, not an async one: it runs for every request and has nothing to wait for.
  app.addHook('onRequest', (request, reply, done) => {
    // Fastify builds routeOptions anew at each read: read once, here.
    request.relay = newRequestState(request.headers['x-request-id'] === request.id ? newRequestId() : request.id, request.routeOptions.url);
    reply.header('x-request-id', request.id);
    inflight.requests++;
    // A response closes once: the listener stays attached and goes with the response.
    (reply.raw as ResponseOfRequest)[requestOfResponse] = request;
    reply.raw.on('close', onResponseClose);
    if (closing) {
      // Sent on a connection kept alive from before (no new one is accepted): the client retries it elsewhere.
      done(shuttingDown());
      return;
    }
    // The route the request matched rather than its URL as sent: the router decodes percent-escapes
    // (`/%61dmin/keys` reaches `/admin/keys`), so a check on the raw URL could be stepped around. A
    // URL that matches no route keeps its own (an unknown `/v1/…` is still refused without a key).
    const path = request.relay.route ?? request.url;
    try {
      if (path.startsWith('/v1/')) {
        // A CORS preflight (OPTIONS) carries no key: it is answered by the CORS handler, or 404.
        if (request.method !== 'OPTIONS') {
          const principal = authenticate(request.headers, services.keys);
          // The master key opens the admin API: from an address refused there it is refused here too,
          // as a wrong key is, so that /v1 cannot tell a guesser which guess was right.
          if (principal.isMaster && services.signIns.refusing) refuseThrottledAddress(request.ip);
          request.relay.principal = principal;
        }
      } else if (path.startsWith('/admin/') || path === '/admin') {
        // Checked before the key, so that the answer is the same whatever the key; a session cookie is no guess.
        if (services.signIns.refusing && readClientKey(request.headers) !== undefined) refuseThrottledAddress(request.ip);
        const principal = authenticateAdminRequest(request, services.keys, dashboardSessions);
        if (principal instanceof Promise) {
          // A dashboard session: looked up in the store.
          principal.then((found) => {
            request.relay.principal = found;
            done();
          }, done);
          return;
        }
        request.relay.principal = principal;
      }
    } catch (error) {
      done(countFailedSignIn(request, error));
      return;
    }
    done();
  });

  const refuseThrottledAddress = (address: string | undefined): void => {
    const wait = services.signIns.wait(address);
    if (wait !== undefined) throw signInThrottled(wait, services.signIns.maxFailures);
  };
  /**
   * A wrong key (or, at the admin API, a client key) counts against its address; from an address
   * over the limit the refusal is the throttle's 429 rather than the 401 that tells a wrong key.
   * Requests without a key (and expired keys, which are no guesses) count for nothing.
   */
  const countFailedSignIn = (request: FastifyRequest, error: unknown): Error => {
    if (!(error instanceof RelayError) || (error.code !== 'invalid_api_key' && error.code !== 'admin_required') || readClientKey(request.headers) === undefined) return error as Error;
    const address = request.ip;
    const wait = services.signIns.wait(address);
    if (wait !== undefined) return signInThrottled(wait, services.signIns.maxFailures);
    services.signIns.fail(address);
    return error;
  };

  app.setErrorHandler(relayErrorHandler);

  registerChatCompletions(app, services);
  registerEmbeddingsAndCompletions(app, services);
  registerAnthropicMessages(app, services);
  registerResponses(app, services);
  const metrics = new RelayMetrics({
    deployments: () => services.deployments.snapshot(),
    canaries: () => [...services.config.routes.values()].flatMap((route) => {
      const controller = services.router.canary(route.model);
      return controller === undefined ? [] : [{ model: route.model, weight: controller.weight }];
    }),
    ledgerPending: () => services.ledger.pending,
    inflightRequests: () => inflight.requests,
    inflightStreams: () => SseWriter.open,
    limitsDegraded: () => limits instanceof ResilientLimitStore && limits.degraded,
    creditChangesWaiting: () => creditChangesWaiting,
    modelLabel: (model) => services.router.metricLabel(model),
  });
  // On its own port when METRICS_PORT is set, so it can stay inside the cluster while the API is exposed.
  const metricsApp = config.metricsPort === undefined ? undefined : Fastify({ logger: false, schemaController });
  registerMetricsRoute(metricsApp ?? app, metrics, config.metricsToken);
  metricsApp?.setNotFoundHandler((request, reply) =>
    reply.code(404).send({
      error: { message: `Unknown request URL: ${request.method} ${request.url.split('?')[0]}. This port (METRICS_PORT) serves only GET /metrics; the API is on PORT.`, type: 'invalid_request_error', param: null, code: 'unknown_url' },
    }),
  );
  registerAdminRouting(app, services);
  registerAdminKeys(app, services);
  registerAdminAccounts(app, services);
  registerAdminUsage(app, services);
  registerDashboard(app, services, dashboardSessions, { directory: options.dashboardDirectory });
  registerModelsAndHealth(app, services);

  return {
    app,
    services,
    async listen() {
      await storedKeys.start();
      const onPendingApplied = (changes: number) => options.logger.info({ changes }, 'balance changes that waited for Redis are counted there now');
      try {
        const restored = await restoreCounters(services, limits, accountCurrencies);
        creditChangesWaiting = restored.waiting;
        if (restored.counted > 0) onPendingApplied(restored.counted);
      } catch (error) {
        if (!(error instanceof LimitsBackendUnavailableError)) throw error;
        // Redis is down: the relay starts all the same (limits.onBackendFailure decides meanwhile); the
        // watch below claims and restores the counters once Redis answers, if it lost them.
        options.logger.warn({ detail: error.message }, 'limit counters could not be checked at start: Redis is unreachable');
      }
      if (limits instanceof ResilientLimitStore) {
        stopWatchingCounters = watchCounters(services, limits, accountCurrencies, {
          intervalMs: 2_000,
          onRestored: () => options.logger.warn('limit counters were missing from Redis (restarted without its data?): balances and this period\'s budget spend were loaded again from the database'),
          onPendingApplied,
          onWaiting: (changes) => {
            creditChangesWaiting = changes;
          },
          // Redis being down is reported by the limits store itself.
          onError: (error) => options.logger.debug({ err: error }, 'limit counters could not be checked'),
        });
      }
      await services.router.canariesReady();
      const address = await app.listen({ port: config.port, host: config.host });
      if (metricsApp !== undefined) await metricsApp.listen({ port: config.metricsPort, host: config.host });
      services.lifecycle.ready = true;
      const bound = app.server.address();
      const port = typeof bound === 'object' && bound !== null ? bound.port : config.port;
      return { port, host: config.host, url: address };
    },
    async close(deadline) {
      services.lifecycle.draining = true;
      for (const controller of canaries.values()) controller.stop();
      closing = true;
      await app.close();
      // Responses cut at the end of the grace period close a moment after their connections: each
      // starts its settle step (a stream is metered for what it delivered) as it closes.
      for (const until = Date.now() + 2_000; inflight.requests > 0 && Date.now() < until; ) await new Promise((resolve) => setTimeout(resolve, 5));
      accessLog.flush();
      await metricsApp?.close();
      metrics.close();
      storedKeys.stop();
      stopWatchingCounters();
      while (services.metering.size > 0) await Promise.allSettled([...services.metering]);
      const unwritten = await services.ledger.close(deadline);
      await dispatcher.close();
      services.admission.close();
      await limits.close();
      await store.close();
      if (unwritten > 0) throw new Error(`${unwritten} usage record(s) could not be written to the store before the shutdown deadline and are lost`);
    },
    reload(next) {
      const router = buildRouter(next);
      services.router = router;
      services.config = { ...next, port: config.port, host: config.host, bodyLimitBytes: config.bodyLimitBytes, requestTimeoutMs: config.requestTimeoutMs };
      services.upstreamSecrets = searchableSecrets(upstreamSecrets(next));
      storedKeys.replaceStatic(new StaticKeyStore(next.masterKeySha256, next.clientKeys));
    },
  };
}
