import type { IncomingHttpHeaders } from 'node:http';
import { RelayError } from '../spec/relay-error.js';
import { hashKey, type KeyStore } from './key-store.js';
import type { Principal } from './principal.js';

/** The client's key from `Authorization: Bearer …` or `x-api-key` (what the Anthropic SDK sends). */
export function readClientKey(headers: IncomingHttpHeaders): string | undefined {
  const authorization = headers.authorization;
  if (typeof authorization === 'string') {
    const match = /^Bearer\s+(.+)$/i.exec(authorization.trim());
    if (match?.[1]) return match[1].trim();
  }
  const apiKey = headers['x-api-key'];
  if (typeof apiKey === 'string' && apiKey.trim() !== '') return apiKey.trim();
  return undefined;
}

/**
 * Resolves the caller or throws a 401 that says what to check. A key the relay does not know gets
 * the seed playbook's "Invalid API key" message, which its Error 1 tells operators to look for.
 */
export function authenticate(headers: IncomingHttpHeaders, store: KeyStore): Principal {
  const key = readClientKey(headers);
  if (key === undefined) {
    throw new RelayError(
      'No API key provided. Send the relay key as "Authorization: Bearer <key>" (or "x-api-key: <key>"); ' +
        'with the OpenAI SDK, pass it as apiKey and point baseURL at the relay.',
      { status: 401, type: 'authentication_error', code: 'invalid_api_key' },
    );
  }
  const principal = store.findBySha256(hashKey(key));
  if (principal === undefined) {
    throw new RelayError(
      `Invalid API key: ${maskKey(key)} is not a key of this relay. Use a key issued by this relay (RELAY_MASTER_KEY or a key from its config), ` +
        'not an upstream provider key; check for spaces or a truncated value.',
      { status: 401, type: 'authentication_error', code: 'invalid_api_key' },
    );
  }
  if (principal.expiresAt !== undefined && principal.expiresAt <= Date.now()) {
    throw new RelayError(`This API key (${maskKey(key)}) expired on ${new Date(principal.expiresAt).toISOString()}. Ask the relay's operator for a new key or a later expiry.`, {
      status: 401,
      type: 'authentication_error',
      code: 'expired_api_key',
    });
  }
  return principal;
}

/** Shows only enough of a key to recognise it, as OpenAI does (`sk-re…x9f2`). */
export function maskKey(key: string): string {
  if (key.length <= 8) return '***';
  return `${key.slice(0, 5)}…${key.slice(-4)}`;
}

/** The admin API takes only keys with admin rights (the master key). */
export function authenticateAdmin(headers: IncomingHttpHeaders, store: KeyStore): Principal {
  const principal = authenticate(headers, store);
  if (!principal.isMaster) {
    throw new RelayError('The admin API needs the master key (RELAY_MASTER_KEY); this key is a client key.', {
      status: 403,
      type: 'permission_error',
      code: 'admin_required',
    });
  }
  return principal;
}
