import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import type { RelayServices } from '../relay-services.js';
import { dashboardSecurityHeaders } from './dashboard-security-headers.js';
import type { DashboardSessions } from './dashboard-sessions.js';
import { registerDashboardSession } from './register-dashboard-session.js';
import { serveDashboardFiles } from './serve-dashboard-files.js';

/**
 * Where `npm run build:web` puts the dashboard: `dist/web` at the package root, next to the bundle
 * this code runs from (`dist/bundle`), or three folders up from the source file (tests).
 */
export function defaultDashboardDirectory(): string {
  const besideBundle = fileURLToPath(new URL('../web/', import.meta.url));
  return existsSync(join(besideBundle, 'index.html')) ? besideBundle : fileURLToPath(new URL('../../../dist/web/', import.meta.url));
}

/**
 * The admin dashboard at `/dashboard`: the built single-page app and its session endpoints, every
 * response with the dashboard's security headers. The app itself talks only to the admin API,
 * which accepts the session cookie (see `authenticate-admin-request.ts`). Registered as an
 * encapsulated plugin so the headers hook touches no other route.
 */
export function registerDashboard(app: FastifyInstance, services: RelayServices, sessions: DashboardSessions, options: { directory?: string } = {}): void {
  void app.register(async (scope) => {
    scope.addHook('onSend', async (_request, reply, payload) => {
      reply.headers(dashboardSecurityHeaders);
      // Session answers carry a CSRF token: never let a cache keep one.
      if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
      return payload;
    });
    registerDashboardSession(scope, services, sessions);
    serveDashboardFiles(scope, { directory: options.directory ?? defaultDashboardDirectory() });
  });
}
