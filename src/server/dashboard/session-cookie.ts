import type { IncomingHttpHeaders } from 'node:http';

/** The dashboard's session cookie. */
export const sessionCookieName = 'relay_session';

/**
 * The session id from the `Cookie` header, if there is one. Parsed by hand (RFC 6265's
 * `name=value; name=value`) rather than with a cookie plugin: this is the only cookie the relay reads.
 */
export function readSessionCookie(headers: IncomingHttpHeaders): string | undefined {
  const header = headers.cookie;
  if (typeof header !== 'string') return undefined;
  for (const pair of header.split(';')) {
    const separator = pair.indexOf('=');
    if (separator === -1 || pair.slice(0, separator).trim() !== sessionCookieName) continue;
    const value = pair.slice(separator + 1).trim();
    // Our ids are base64url; anything else is not ours and is ignored rather than looked up.
    if (/^[A-Za-z0-9_-]{16,128}$/.test(value)) return value;
  }
  return undefined;
}

/**
 * Whether the browser reached us over HTTPS: directly (TLS socket) or through a proxy or Ingress
 * that says so in `x-forwarded-proto`. Only decides the `Secure` flag, so trusting the header costs
 * nothing: a forged "https" just makes the browser keep the cookie off plain HTTP.
 */
export function cameOverHttps(headers: IncomingHttpHeaders, socketEncrypted: boolean): boolean {
  if (socketEncrypted) return true;
  const forwarded = headers['x-forwarded-proto'];
  const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim().toLowerCase();
  return first === 'https';
}

/**
 * The `Set-Cookie` value for a session: HttpOnly (no script can read it), SameSite=Strict (never
 * sent on requests started by another site), Path=/ (the admin API lives outside /dashboard).
 * `maxAgeSeconds` 0 tells the browser to forget it.
 */
export function sessionCookie(sessionId: string, options: { maxAgeSeconds: number; secure: boolean }): string {
  const attributes = [`${sessionCookieName}=${sessionId}`, 'Path=/', 'HttpOnly', 'SameSite=Strict', `Max-Age=${Math.max(0, Math.floor(options.maxAgeSeconds))}`];
  if (options.secure) attributes.push('Secure');
  return attributes.join('; ');
}
