import type { FastifyInstance } from 'fastify';
import { RelayError } from '../../spec/relay-error.js';
import type { RelayServices } from '../relay-services.js';

/**
 * `GET /v1/models` (OpenAI's list shape), `GET /v1/models/{model}`, and the probes: `/health` is
 * liveness (the process answers), `/ready` is readiness (503 while starting or draining, so a
 * load balancer stops sending traffic before shutdown).
 * @see https://platform.openai.com/docs/api-reference/models/list
 */
export function registerModelsAndHealth(app: FastifyInstance, services: RelayServices): void {
  const describe = (id: string) => ({ id, object: 'model', created: services.startedAtSeconds, owned_by: ownerOf(id, services) });

  // A key limited to some models is shown only those, as OpenAI lists only what a key may use.
  app.get('/v1/models', async (request) => ({ object: 'list', data: services.router.listServed(request.relay.principal).map(describe) }));

  app.get<{ Params: { model: string } }>('/v1/models/:model', async (request) => {
    const model = request.params.model;
    // Resolving checks that the model is served and that this key may use it.
    services.router.resolve(model, request.relay.principal!, 404);
    return describe(model);
  });

  app.get('/health', { logLevel: 'silent' }, async () => ({ status: 'ok' }));

  app.get('/ready', { logLevel: 'silent' }, async (_request, reply) => {
    const { ready, draining } = services.lifecycle;
    if (ready && !draining) return { status: 'ready' };
    return reply.code(503).send({ status: draining ? 'draining' : 'starting' });
  });

  app.setNotFoundHandler(async (request) => {
    throw new RelayError(`Unknown request URL: ${request.method} ${request.url.split('?')[0]}. The relay serves the OpenAI API under /v1 (for example POST /v1/chat/completions).`, {
      status: 404,
      type: 'invalid_request_error',
      code: 'unknown_url',
    });
  });
}

function ownerOf(id: string, services: RelayServices): string {
  const route = services.config.routes.get(id);
  return route?.groups[0]?.[0]?.provider ?? 'relay';
}
