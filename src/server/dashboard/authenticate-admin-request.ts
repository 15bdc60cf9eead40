import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { authenticateAdmin, readClientKey } from '../../auth/authenticate.js';
import type { KeyStore } from '../../auth/key-store.js';
import type { Principal } from '../../auth/principal.js';
import { RelayError } from '../../spec/relay-error.js';
import type { DashboardSession, DashboardSessions } from './dashboard-sessions.js';
import { readSessionCookie } from './session-cookie.js';

/** The header a cookie-authenticated browser sends on state-changing requests. */
export const csrfHeaderName = 'x-relay-csrf';

/** Methods that change nothing; everything else from a cookie needs the CSRF token. */
const safeMethods = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Whether the request echoes the session's CSRF token (compared in constant time). */
export function carriesCsrfToken(headers: IncomingHttpHeaders, session: DashboardSession): boolean {
  const token = headers[csrfHeaderName];
  if (typeof token !== 'string') return false;
  const given = Buffer.from(token);
  const expected = Buffer.from(session.csrfToken);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * The principal of an `/admin/*` request: the Bearer (or `x-api-key`) admin key as before, or, when
 * the request carries no key, the dashboard's session cookie. A key always wins, so scripts and the
 * CLI behave exactly as they did. A cookie-authenticated POST, PATCH or DELETE must also carry the
 * session's CSRF token in `x-relay-csrf`: a browser attaches cookies to requests other pages start,
 * but no other page can read the token.
 */
export function authenticateAdminRequest(
  request: { method: string; headers: IncomingHttpHeaders },
  keys: KeyStore,
  sessions: DashboardSessions,
): Principal | Promise<Principal> {
  const sessionId = readClientKey(request.headers) === undefined ? readSessionCookie(request.headers) : undefined;
  // A key is checked at once, in memory; only a session cookie waits for the store.
  if (sessionId === undefined) return authenticateAdmin(request.headers, keys);
  return authenticateSession(request, sessionId, keys, sessions);
}

async function authenticateSession(request: { method: string; headers: IncomingHttpHeaders }, sessionId: string, keys: KeyStore, sessions: DashboardSessions): Promise<Principal> {
  const { session, principal } = await resolveSession(sessionId, keys, sessions);
  if (!safeMethods.has(request.method) && !carriesCsrfToken(request.headers, session)) {
    throw new RelayError(`This change came with the dashboard's session cookie but without its CSRF token. Send the token the session endpoint returned in "${csrfHeaderName}", or use "Authorization: Bearer <master key>".`, {
      status: 403,
      type: 'permission_error',
      code: 'csrf_token_invalid',
    });
  }
  return principal;
}

/**
 * The session behind a cookie, checked against the keys the relay has now: signing in with a master
 * key that has since been changed (config reload) no longer counts.
 */
export async function resolveSession(sessionId: string, keys: KeyStore, sessions: DashboardSessions): Promise<{ session: DashboardSession; principal: Principal }> {
  const session = await sessions.find(sessionId);
  if (session === undefined) {
    throw new RelayError('Your dashboard session has expired or was signed out. Sign in again at /dashboard.', {
      status: 401,
      type: 'authentication_error',
      code: 'invalid_api_key',
    });
  }
  const principal = keys.findBySha256(session.keySha256);
  if (principal === undefined || !principal.isMaster) {
    await sessions.delete(sessionId);
    throw new RelayError('The key this dashboard session signed in with is no longer an admin key of this relay. Sign in again at /dashboard.', {
      status: 401,
      type: 'authentication_error',
      code: 'invalid_api_key',
    });
  }
  return { session, principal };
}
