import type { IncomingHttpHeaders } from 'node:http';
import { RelayError } from '../../spec/relay-error.js';

/**
 * Whether a browser sent this request for a page of another origin. `Sec-Fetch-Site`, which no
 * page can set, decides when present: only `same-origin` (the dashboard's own fetch) and `none`
 * (the user's own action) pass, `same-site` and `cross-site` do not. Without it (a browser too old
 * to send it), an `Origin` must name the host the request was sent to. A request with neither is
 * not a browser's on behalf of a page (curl, a script), and passes. The same order as Go's
 * `http.CrossOriginProtection`: a proxy that rewrites `Host` does not break a browser that sends
 * `Sec-Fetch-Site`, and a browser cannot claim `same-origin` for another origin.
 * @see https://developer.mozilla.org/en-US/docs/Web/HTTP/Reference/Headers/Sec-Fetch-Site
 */
export function isCrossOrigin(headers: IncomingHttpHeaders, host: string | undefined): boolean {
  const site = headers['sec-fetch-site'];
  if (typeof site === 'string') return site !== 'same-origin' && site !== 'none';
  const origin = headers.origin;
  if (origin === undefined) return false;
  if (host === undefined || host === '') return true;
  try {
    const from = new URL(origin);
    // The host as the origin's scheme writes it: `example.com:443` and `example.com` are one https origin.
    return new URL(`${from.protocol}//${host}`).host !== from.host;
  } catch {
    // `Origin: null` (a sandboxed frame, a file, a redirect across origins) or a malformed value.
    return true;
  }
}

/** Whether the body is declared as JSON (`application/json`, any parameters, any case). */
function declaresJson(headers: IncomingHttpHeaders): boolean {
  const type = headers['content-type'];
  return typeof type === 'string' && type.split(';', 1)[0]!.trim().toLowerCase() === 'application/json';
}

/**
 * Refuses a sign-in that no dashboard page of this relay sent, before its key is looked at or
 * counted. A page of any site can make the operator's browser POST here (`mode: "no-cors"` with a
 * text/plain body needs no preflight); counted as wrong keys, ten such posts would refuse the
 * operator's address the admin API, the dashboard and the master key for a minute. A body declared
 * as JSON is a request no other page can send without a preflight, which the relay does not grant
 * outside `/v1`; the origin check refuses the rest from browsers that say where they come from.
 */
export function checkSignInRequest(request: { headers: IncomingHttpHeaders; host: string | undefined }): void {
  if (isCrossOrigin(request.headers, request.host)) {
    throw new RelayError('Sign-ins are taken only from the dashboard of this relay: this request came from a page of another origin. Sign in at /dashboard, or call the admin API with "Authorization: Bearer <master key>".', {
      status: 403,
      type: 'permission_error',
      code: 'cross_origin_request',
    });
  }
  if (!declaresJson(request.headers)) {
    throw new RelayError('Send the sign-in as JSON, {"key": "<master key>"}, with "Content-Type: application/json".', {
      status: 415,
      type: 'invalid_request_error',
      code: 'unsupported_media_type',
    });
  }
}
