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

    // A later version still applies.
    stale = [{ ...live, name: 'renamed', updatedAt: revoked.updatedAt + 1 }];
    await cache.refresh();
    expect(cache.findBySha256(sha256Of('secret-a'))?.name).toBe('renamed');
  });
});
