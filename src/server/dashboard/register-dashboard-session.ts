import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { authenticateAdmin } from '../../auth/authenticate.js';
import { hashKey } from '../../auth/key-store.js';
import { signInThrottled } from '../../auth/sign-in-throttle.js';
import { RelayError } from '../../spec/relay-error.js';
import type { RelayServices } from '../relay-services.js';
import { carriesCsrfToken, csrfHeaderName, resolveSession } from './authenticate-admin-request.js';
import { checkSignInRequest } from './check-sign-in-request.js';
import type { DashboardSession, DashboardSessions } from './dashboard-sessions.js';
import { cameOverHttps, readSessionCookie, sessionCookie } from './session-cookie.js';

const SignInBody = Type.Object({ key: Type.String({ minLength: 1, maxLength: 1024 }) }, { additionalProperties: false });

/** What the browser learns about its session: the CSRF token to echo, and when to sign in again. */
function sessionView(session: DashboardSession) {
  return { object: 'dashboard_session', csrf_token: session.csrfToken, expires_at: new Date(session.expiresAt).toISOString() };
}

function secureFlag(request: FastifyRequest): boolean {
  return cameOverHttps(request.headers, 'encrypted' in request.socket && request.socket.encrypted === true);
}

function forgetCookie(request: FastifyRequest, reply: FastifyReply): void {
  reply.header('set-cookie', sessionCookie('', { maxAgeSeconds: 0, secure: secureFlag(request) }));
}

/**
 * `/dashboard/api/session`: sign in with the master key (POST), recover the CSRF token after a page
 * reload (GET) and sign out (DELETE). The key is checked exactly as the admin API checks it and is
 * then forgotten; the browser keeps only an HttpOnly cookie with a random session id.
 */
export function registerDashboardSession(app: FastifyInstance, services: RelayServices, sessions: DashboardSessions): void {
  const signInFromThisRelay = (request: FastifyRequest, _reply: FastifyReply, done: (error?: Error) => void): void => {
    try {
      checkSignInRequest(request);
      done();
    } catch (error) {
      done(error as Error);
    }
  };

  // Checked as the request arrives: a sign-in from another origin, or not declared as JSON, is refused before its body is read, and not counted.
  app.post('/dashboard/api/session', { schema: { body: SignInBody }, onRequest: signInFromThisRelay }, async (request, reply) => {
    const key = (request.body as Static<typeof SignInBody>).key.trim();
    // An address that failed too often is refused before its key is looked at, the right one too.
    const wait = services.signIns.wait(request.ip);
    if (wait !== undefined) throw signInThrottled(wait, services.signIns.maxFailures);
    try {
      // Throws the admin API's own 401 (unknown key) or 403 (a client key, not an admin key).
      authenticateAdmin({ authorization: `Bearer ${key}` }, services.keys);
    } catch (error) {
      services.signIns.fail(request.ip);
      throw error;
    }
    const previous = readSessionCookie(request.headers);
    if (previous !== undefined) await sessions.delete(previous);
    const { id, session } = await sessions.create(hashKey(key));
    request.log.info({ requestId: request.id, expiresAt: new Date(session.expiresAt).toISOString() }, 'dashboard session started');
    reply.header('set-cookie', sessionCookie(id, { maxAgeSeconds: sessions.lifetimeMs / 1000, secure: secureFlag(request) }));
    return sessionView(session);
  });

  app.get('/dashboard/api/session', async (request) => {
    const sessionId = readSessionCookie(request.headers);
    if (sessionId === undefined) {
      throw new RelayError('Not signed in. POST the master key to /dashboard/api/session to start a session.', { status: 401, type: 'authentication_error', code: 'invalid_api_key' });
    }
    return sessionView((await resolveSession(sessionId, services.keys, sessions)).session);
  });

  app.delete('/dashboard/api/session', async (request, reply) => {
    const sessionId = readSessionCookie(request.headers);
    const session = sessionId === undefined ? undefined : await sessions.find(sessionId);
    if (sessionId !== undefined && session !== undefined) {
      // Signing someone out is a change too: only the page that holds the token may do it.
      if (!carriesCsrfToken(request.headers, session)) {
        throw new RelayError(`Signing out needs the session's CSRF token in "${csrfHeaderName}".`, { status: 403, type: 'permission_error', code: 'csrf_token_invalid' });
      }
      await sessions.delete(sessionId);
      request.log.info({ requestId: request.id }, 'dashboard session ended');
    }
    forgetCookie(request, reply);
    return reply.code(204).send();
  });
}
