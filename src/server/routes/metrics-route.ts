import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { RelayMetrics } from '../../metrics/relay-metrics.js';

function tokenMatches(header: string | undefined, token: string): boolean {
  const given = Buffer.from(header?.replace(/^Bearer\s+/i, '') ?? '');
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** `GET /metrics` in Prometheus' text format, behind `METRICS_TOKEN` when one is set. */
export function registerMetricsRoute(app: FastifyInstance, metrics: RelayMetrics, token: string | undefined): void {
  app.get('/metrics', async (request, reply) => {
    if (token !== undefined && !tokenMatches(request.headers.authorization, token)) {
      return reply.code(401).header('www-authenticate', 'Bearer').send({ error: { message: 'Send the metrics token as "Authorization: Bearer <METRICS_TOKEN>".', type: 'authentication_error', param: null, code: 'invalid_metrics_token' } });
    }
    const { contentType, body } = await metrics.render();
    return reply.type(contentType).send(body);
  });
}
