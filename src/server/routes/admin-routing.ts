import type { FastifyInstance } from 'fastify';
import { RelayError } from '../../spec/relay-error.js';
import { canaryActions, type CanaryAction, type CanarySnapshot } from '../../routing/canary-controller.js';
import type { RelayServices } from '../relay-services.js';

/**
 * Routing state for operators (under /admin, master key only): every deployment's health, the
 * canaries with their analysis history and the buttons to move them, and shadow traffic results.
 */
export function registerAdminRouting(app: FastifyInstance, services: RelayServices): void {
  app.get('/admin/deployments', async () => ({ object: 'list', data: services.deployments.snapshot() }));

  app.get('/admin/canaries', async () => ({
    object: 'list',
    data: [...services.config.routes.values()].flatMap((route) => {
      const controller = services.router.canary(route.model);
      return controller === undefined ? [] : [canaryView(controller.snapshot())];
    }),
  }));

  app.get<{ Params: { model: string } }>('/admin/canaries/:model', async (request) => canaryView(canaryOf(services, request.params.model).snapshot()));

  app.post<{ Params: { model: string; action: string } }>('/admin/canaries/:model/:action', async (request) => {
    const action = request.params.action as CanaryAction;
    if (!canaryActions.includes(action)) {
      throw new RelayError(`Unknown canary action "${request.params.action}". Use one of: ${canaryActions.join(', ')}.`, {
        status: 404,
        type: 'invalid_request_error',
        code: 'unknown_url',
      });
    }
    const controller = canaryOf(services, request.params.model);
    const snapshot = await controller[action]();
    request.log.info({ model: snapshot.model, action, phase: snapshot.phase, weight: snapshot.weight }, 'canary changed by hand');
    return canaryView(snapshot);
  });

  app.get('/admin/shadows', async () => ({ object: 'list', data: services.router.shadows() }));
}

/** A canary as the admin API shows it: a deployment's own upstream key never leaves the relay. */
function canaryView(snapshot: CanarySnapshot) {
  return { ...snapshot, settings: { ...snapshot.settings, targets: snapshot.settings.targets.map(({ apiKey: _secret, ...target }) => target) } };
}

function canaryOf(services: RelayServices, model: string) {
  const controller = services.router.canary(model);
  if (controller === undefined) {
    throw new RelayError(`No canary is configured for the model "${model}". Add "canary" to its route in relay.yaml.`, {
      status: 404,
      type: 'not_found_error',
      code: 'canary_not_found',
    });
  }
  return controller;
}
