import { describe, expect, it } from 'vitest';
import { StaticKeyStore, hashKey, sameDigest } from './key-store.js';

describe('StaticKeyStore', () => {
  it('finds the master key and config keys by digest, and nothing else', () => {
    const master = hashKey('sk-master-0123456789');
    const store = new StaticKeyStore(master.toUpperCase(), [{ name: 'team', sha256: hashKey('sk-team-0123456789'), models: ['gpt-*'] }]);
    expect(store.findBySha256(master)).toMatchObject({ id: 'master', isMaster: true });
    expect(store.findBySha256(hashKey('sk-team-0123456789'))).toMatchObject({ id: 'config:team', isMaster: false, models: ['gpt-*'] });
    expect(store.findBySha256(hashKey('sk-master-012345678'))).toBeUndefined();
    expect(new StaticKeyStore(undefined, []).findBySha256(master)).toBeUndefined();
  });

  it('compares digests whole: a difference anywhere, or another length, is not equal', () => {
    const digest = hashKey('x');
    expect(sameDigest(digest, digest.slice())).toBe(true);
    for (const index of [0, 31, 63]) {
      const changed = `${digest.slice(0, index)}${digest[index] === '0' ? '1' : '0'}${digest.slice(index + 1)}`;
      expect(sameDigest(changed, digest)).toBe(false);
    }
    expect(sameDigest(digest.slice(0, 63), digest)).toBe(false);
    expect(sameDigest('', digest)).toBe(false);
  });
});
