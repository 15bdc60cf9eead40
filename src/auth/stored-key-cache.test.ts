import { describe, expect, it } from 'vitest';
import { MemoryRelayStore } from '../store/memory-relay-store.js';
import type { ApiKeyRecord } from '../store/relay-store.js';
import { keyInput, sha256Of } from '../store/relay-store.fixtures.js';
import { StaticKeyStore } from './key-store.js';
import { StoredKeyCache } from './stored-key-cache.js';

describe('StoredKeyCache', () => {
  it("keeps this replica's revocation when a poll brings back the key as it was before it", async () => {
    const store = new MemoryRelayStore();
    const live = await store.keys.create(keyInput({ sha256: sha256Of('secret-a') }));
    // A poll that read the row before the revocation committed: the live version, delivered after it.
    let stale: ApiKeyRecord[] = [];
    const keys = Object.create(store.keys) as typeof store.keys;
    keys.changedSince = async () => stale;
    const cache = new StoredKeyCache(Object.assign(Object.create(store) as MemoryRelayStore, { keys }), new StaticKeyStore(undefined, []), { pollMs: 60_000 });
    await cache.start();
    cache.stop();
    expect(cache.findBySha256(sha256Of('secret-a'))?.id).toBe(live.id);

    const revoked = (await store.keys.revoke(live.id, Date.now()))!;
    cache.apply(revoked);
    stale = [live];
    await cache.refresh();
    expect(cache.findBySha256(sha256Of('secret-a'))).toBeUndefined();

    // A revocation is final: no live version applies after it, whatever its stamp.
    stale = [{ ...live, name: 'renamed', updatedAt: revoked.updatedAt + 1 }];
    await cache.refresh();
    expect(cache.findBySha256(sha256Of('secret-a'))).toBeUndefined();
  });

  it('applies a later version of a live key, and ignores an older one', async () => {
    const store = new MemoryRelayStore();
    const cache = new StoredKeyCache(store, new StaticKeyStore(undefined, []), { pollMs: 60_000 });
    const live = await store.keys.create(keyInput({ sha256: sha256Of('secret-b') }));
    cache.apply({ ...live, name: 'second', updatedAt: live.updatedAt + 2 });
    cache.apply({ ...live, name: 'first', updatedAt: live.updatedAt + 1 });
    expect(cache.findBySha256(sha256Of('secret-b'))?.name).toBe('second');
    cache.apply({ ...live, name: 'third', updatedAt: live.updatedAt + 3 });
    expect(cache.findBySha256(sha256Of('secret-b'))?.name).toBe('third');
  });

  it("applies a revocation stamped before the change it has: another replica's clock may be behind", async () => {
    const store = new MemoryRelayStore();
    const cache = new StoredKeyCache(store, new StaticKeyStore(undefined, []), { pollMs: 60_000 });
    const live = await store.keys.create(keyInput({ sha256: sha256Of('secret-c') }));
    // This replica changed the key; another, whose clock is a minute behind, revoked it at once.
    const changed = { ...live, rpm: 100, updatedAt: live.updatedAt + 60_000 };
    cache.apply(changed);
    expect(cache.findBySha256(sha256Of('secret-c'))?.rpm).toBe(100);
    cache.apply({ ...live, revokedAt: live.updatedAt + 1, updatedAt: live.updatedAt + 1 });
    expect(cache.findBySha256(sha256Of('secret-c'))).toBeUndefined();
    expect(cache.findById(live.id)).toBeUndefined();
    // A poll that read the change before the revocation committed does not bring the key back.
    cache.apply(changed);
    expect(cache.findBySha256(sha256Of('secret-c'))).toBeUndefined();
  });
});
