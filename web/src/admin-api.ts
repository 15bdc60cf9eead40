/** A refusal or failure of the admin API, with the relay's own message (always safe to show). */
export class AdminApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = 'AdminApiError';
  }
}

/** What the session endpoint hands the page: the token to echo on changes, and when it ends. */
export interface Session {
  csrfToken: string;
  expiresAt: string;
}

async function errorOf(response: Response): Promise<AdminApiError> {
  let message = `The relay answered ${response.status} ${response.statusText}.`;
  let code: string | undefined;
  try {
    const body = (await response.json()) as { error?: { message?: string; code?: string } };
    if (typeof body.error?.message === 'string') message = body.error.message;
    code = body.error?.code;
  } catch {
    // Not JSON (a proxy's page, say): the status line is all there is to say.
  }
  return new AdminApiError(message, response.status, code);
}

function sessionOf(body: { csrf_token: string; expires_at: string }): Session {
  return { csrfToken: body.csrf_token, expiresAt: body.expires_at };
}

/**
 * The session after a page load, if the browser's cookie still names one. The cookie itself is
 * HttpOnly: this page never sees it, only the CSRF token the relay returns.
 */
export async function restoreSession(): Promise<Session | undefined> {
  const response = await fetch('/dashboard/api/session', { credentials: 'same-origin', headers: { accept: 'application/json' } });
  if (response.status === 401) return undefined;
  if (!response.ok) throw await errorOf(response);
  return sessionOf(await response.json());
}

/** Trades the master key for a session cookie. The key goes in the body of one POST and is not kept. */
export async function signIn(key: string): Promise<Session> {
  const response = await fetch('/dashboard/api/session', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ key }),
  });
  if (!response.ok) throw await errorOf(response);
  return sessionOf(await response.json());
}

/** What the sign-in page says when a request finds the session gone. */
const sessionEnded = 'Your session has ended: it expired (sessions last 12 hours), was signed out, or the master key changed. Sign in again.';

/**
 * The admin API as the signed-in page calls it: the session cookie authenticates, and every change
 * carries the CSRF token. A 401 means the session ended (expired, signed out elsewhere, relay
 * restarted): `onSignedOut` sends the page back to sign-in.
 */
export class AdminApi {
  /** The token of the session the browser's cookie names now (signing in again in another tab changes both). */
  private csrfToken: string;

  constructor(
    session: Session,
    private readonly onSignedOut: (reason: string) => void,
  ) {
    this.csrfToken = session.csrfToken;
  }

  get<T>(path: string): Promise<T> {
    return this.call<T>('GET', path);
  }

  send<T>(method: 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T> {
    return this.call<T>(method, path, body);
  }

  /** Ends the session at the relay; throws, with the relay's reason, when it did not end. */
  async signOut(): Promise<void> {
    await this.fetch('DELETE', '/dashboard/api/session', undefined, 'application/json');
  }

  /** A report as CSV text (`Accept: text/csv`), for the export button. */
  async csv(path: string): Promise<string> {
    const response = await this.fetch('GET', path, undefined, 'text/csv');
    return response.text();
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await this.fetch(method, path, body, 'application/json');
    return (await response.json()) as T;
  }

  private async fetch(method: string, path: string, body: unknown, accept: string, tokenRenewed = false): Promise<Response> {
    const headers: Record<string, string> = { accept };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (method !== 'GET') headers['x-relay-csrf'] = this.csrfToken;
    const response = await fetch(path, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) });
    if (response.ok) return response;
    const error = await errorOf(response);
    // The API's own 401 speaks to API clients ("No API key provided…" once the browser has dropped
    // the expired cookie): the person at the page needs to know their session ended.
    if (response.status === 401) this.onSignedOut(sessionEnded);
    // Signing in again in another tab gave the browser a new session, whose cookie this page now
    // sends with the old session's token. The relay refused before changing anything: ask it for the
    // current session's token and send the change once more.
    if (response.status === 403 && error.code === 'csrf_token_invalid' && !tokenRenewed) {
      const current = await restoreSession();
      if (current === undefined) {
        this.onSignedOut(sessionEnded);
        throw error;
      }
      this.csrfToken = current.csrfToken;
      return this.fetch(method, path, body, accept, true);
    }
    throw error;
  }
}
