import { createHash, randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { Agent } from 'undici';
import { authenticate, authenticateAdmin } from '../auth/authenticate.js';
import { StaticKeyStore, type KeyStore } from '../auth/key-store.js';
import type { RelayConfig } from '../config/relay-config.js';
import { publishRequestEnd } from '../observability/relay-events.js';
import { createProvider } from '../providers/create-provider.js';
import type { Provider } from '../providers/provider.js';
import type { CanaryController } from '../routing/canary-controller.js';
import { DeploymentRegistry } from '../routing/deployment.js';
import { ModelRouter } from '../routing/model-router.js';
import { RelayError } from '../spec/relay-error.js';
import type { RelayServices } from './relay-services.js';
import { toRelayError } from './render-error.js';
import { newRequestState } from './request-state.js';
import { registerAdminRouting } from './routes/admin-routing.js';
import { registerAnthropicMessages } from './routes/anthropic-messages.js';
import { registerChatCompletions } from './routes/chat-completions.js';
import { registerEmbeddingsAndCompletions } from './routes/embeddings-and-completions.js';
import { registerModelsAndHealth } from './routes/models-and-health.js';

export interface RelayServer {
  app: FastifyInstance;
  services: RelayServices;
  /** Listens and marks the relay ready; resolves to the bound address. */
  listen(): Promise<{ port: number; host: string; url: string }>;
  /** Stops accepting, lets in-flight requests end, closes upstream pools. */
  close(): Promise<void>;
  /**
   * Swaps in a new configuration's routes, providers and keys. Requests in flight finish with the
   * ones they started with; upstream connection pools, deployment health and canaries carry over.
   * Listening settings (port, host, body limit) need a restart.
   */
  reload(config: RelayConfig): void;
}

export interface CreateRelayServerOptions {
  logger: Logger;
  keys?: KeyStore;
}

const requestIdPattern = /^[A-Za-z0-9._:-]{1,128}$/;

/** Builds the relay's HTTP server from a validated configuration. */
export function createRelayServer(config: RelayConfig, options: CreateRelayServerOptions): RelayServer {
  const dispatcher = new Agent({
    connections: config.connectionPoolSize,
    keepAliveTimeout: 30_000,
    connect: { timeout: Math.min(config.timeoutMs, 10_000) },
  });
  const deployments = new DeploymentRegistry();
  const canaries = new Map<string, CanaryController>();
  const buildRouter = (routerConfig: RelayConfig) => {
    const providers = new Map<string, Provider>();
    for (const settings of routerConfig.providers.values()) providers.set(settings.name, createProvider(settings, dispatcher));
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
          derived = createProvider({ ...settings, name: derivedName, apiKey }, dispatcher);
          providers.set(derivedName, derived);
        }
        return derived;
      },
      onCanaryChange: (snapshot, check) => {
        if (check.action !== 'hold') options.logger.info({ model: snapshot.model, phase: snapshot.phase, weight: snapshot.weight, check }, 'canary changed');
      },
    });
  };

  const app = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger,
    // The relay writes one access line per request itself (finishRequest), with its own fields.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.bodyLimitBytes,
    requestIdHeader: false,
    genReqId: (request) => {
      const incoming = request.headers['x-request-id'];
      return typeof incoming === 'string' && requestIdPattern.test(incoming) ? incoming : randomUUID();
    },
    // Streams may run for minutes; the per-attempt upstream timeout bounds them instead.
    requestTimeout: 0,
    connectionTimeout: 0,
    forceCloseConnections: 'idle',
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false, allErrors: false } },
  });

  const services: RelayServices = {
    config,
    router: buildRouter(config),
    deployments,
    priceOf: () => undefined,
    keys: options.keys ?? new StaticKeyStore(config.masterKeySha256, config.clientKeys),
    lifecycle: { ready: false, draining: false },
    logger: app.log,
    startedAtSeconds: Math.floor(Date.now() / 1000),
  };

  // Any content type is read as JSON: `curl -d` sends form encoding by default, and the intent is clear.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => {
    const text = body as string;
    if (text.trim() === '') {
      done(new RelayError('The request body is empty. Send a JSON object.', { status: 400, type: 'invalid_request_error', code: 'invalid_json' }), undefined);
      return;
    }
    try {
      done(null, JSON.parse(text));
    } catch (error) {
      done(
        new RelayError(`We could not parse the JSON body of your request: ${(error as Error).message}. Send valid JSON with "Content-Type: application/json".`, {
          status: 400,
          type: 'invalid_request_error',
          code: 'invalid_json',
        }),
        undefined,
      );
    }
  });

  app.decorateRequest('relay', null as never);
  app.addHook('onRequest', async (request, reply) => {
    request.relay = newRequestState();
    reply.header('x-request-id', request.id);
    reply.raw.once('close', () => finishRequest(request, reply.raw.statusCode, !reply.raw.writableFinished, services));
    if (request.url.startsWith('/v1/')) request.relay.principal = authenticate(request.headers, services.keys);
    else if (request.url.startsWith('/admin/') || request.url === '/admin') request.relay.principal = authenticateAdmin(request.headers, services.keys);
  });

  app.setErrorHandler(async (error, request, reply) => {
    const relayError = toRelayError(error, request.id);
    if (relayError.status >= 500 && !(error instanceof RelayError)) {
      request.log.error({ requestId: request.id, detail: error instanceof Error ? error.stack : String(error) }, 'unhandled error');
    }
    if (request.relay !== null && request.relay !== undefined) request.relay.errorCode = relayError.code;
    if (relayError.headers !== undefined) reply.headers(relayError.headers);
    return reply.code(relayError.status).type('application/json').send(relayError.toJSON());
  });

  registerChatCompletions(app, services);
  registerEmbeddingsAndCompletions(app, services);
  registerAnthropicMessages(app, services);
  registerAdminRouting(app, services);
  registerModelsAndHealth(app, services);

  return {
    app,
    services,
    async listen() {
      const address = await app.listen({ port: config.port, host: config.host });
      services.lifecycle.ready = true;
      const bound = app.server.address();
      const port = typeof bound === 'object' && bound !== null ? bound.port : config.port;
      return { port, host: config.host, url: address };
    },
    async close() {
      services.lifecycle.draining = true;
      for (const controller of canaries.values()) controller.stop();
      await app.close();
      await dispatcher.close();
    },
    reload(next) {
      const router = buildRouter(next);
      services.router = router;
      services.config = { ...next, port: config.port, host: config.host, bodyLimitBytes: config.bodyLimitBytes };
      if (options.keys === undefined) services.keys = new StaticKeyStore(next.masterKeySha256, next.clientKeys);
    },
  };
}

const quietPaths = new Set(['/health', '/ready', '/metrics']);

/** One access line and one published event per request, when its response ends or the client leaves. */
function finishRequest(request: FastifyRequest, status: number, clientAborted: boolean, services: RelayServices): void {
  const state = request.relay;
  if (state === null || state === undefined) return;
  const durationMs = performance.now() - state.startedAt;
  const path = request.routeOptions.url ?? request.url.split('?')[0] ?? request.url;
  const finalStatus = state.status ?? status;
  if (!quietPaths.has(path) || finalStatus >= 500) {
    services.logger.info(
      {
        requestId: request.id,
        method: request.method,
        path,
        keyName: state.principal?.name,
        model: state.model,
        provider: state.provider,
        status: finalStatus,
        errorCode: state.errorCode,
        stream: state.stream,
        attempts: state.attempts,
        promptTokens: state.usage?.prompt_tokens,
        completionTokens: state.usage?.completion_tokens,
        durationMs: Math.round(durationMs * 100) / 100,
        clientAborted: clientAborted || undefined,
      },
      'request',
    );
  }
  publishRequestEnd({
    requestId: request.id,
    route: path,
    principalId: state.principal?.id,
    principalName: state.principal?.name,
    requestedModel: state.requestedModel,
    model: state.model,
    provider: state.provider,
    status: finalStatus,
    errorCode: state.errorCode,
    stream: state.stream,
    attempts: state.attempts,
    usage: state.usage,
    startedAt: state.startedAt,
    durationMs,
    firstByteMs: state.firstByteAt === undefined ? undefined : state.firstByteAt - state.startedAt,
    clientAborted,
  });
}
