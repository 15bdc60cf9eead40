import { hash } from 'node:crypto';
import type { Principal } from './principal.js';

/**
 * Where authentication looks keys up. Lookups are synchronous and in memory: nothing on the request
 * path waits for a database. Stores with a database behind them keep this map warm.
 */
export interface KeyStore {
  /** The principal whose key hashes to `sha256` (hex), if any. */
  findBySha256(sha256: string): Principal | undefined;
}

/** The SHA-256 of a key (hex), by Node's one-shot hash: every request is authenticated with it, and it costs half of a Hash object. */
export function hashKey(secret: string): string {
  return hash('sha256', secret, 'hex');
}

export interface StaticKey {
  name: string;
  sha256: string;
  models: readonly string[] | undefined;
}

/**
 * The keys known at start: `RELAY_MASTER_KEY` and the config file's `keys`. Only SHA-256 digests are
 * held. The master key's digest is compared in constant time (`sameDigest`); other keys are found through a
 * map keyed by digest, so response time does not depend on how much of a guessed key was right.
 */
export class StaticKeyStore implements KeyStore {
  /** The master key's SHA-256, lowercase hex (as `hashKey` writes digests). */
  private readonly masterDigest: string | undefined;
  private readonly byDigest = new Map<string, Principal>();

  constructor(masterKeySha256: string | undefined, keys: readonly StaticKey[]) {
    this.masterDigest = masterKeySha256?.toLowerCase();
    for (const key of keys) {
      this.byDigest.set(key.sha256, { id: `config:${key.name}`, name: key.name, isMaster: false, models: key.models });
    }
  }

  findBySha256(sha256: string): Principal | undefined {
    if (this.masterDigest !== undefined && sameDigest(sha256, this.masterDigest)) return masterPrincipal;
    return this.byDigest.get(sha256);
  }
}

/**
 * Whether two hex digests are equal, in time that depends on their length only (every character is
 * compared, with no early exit). It runs for every request: decoding the digest into a Buffer for
 * `timingSafeEqual` cost an allocation and a native call (~2.7 µs with the lookup at one request in flight).
 */
export function sameDigest(given: string, expected: string): boolean {
  if (given.length !== expected.length) return false;
  let difference = 0;
  for (let index = 0; index < expected.length; index++) difference |= given.charCodeAt(index) ^ expected.charCodeAt(index);
  return difference === 0;
}

const masterPrincipal: Principal = Object.freeze({ id: 'master', name: 'master', isMaster: true, models: undefined });
