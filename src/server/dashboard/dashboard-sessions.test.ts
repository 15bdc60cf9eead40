import { describe, expect, it } from 'vitest';
import { MemoryDashboardSessionStore } from '../../store/memory-dashboard-session-store.js';
import { DashboardSessions } from './dashboard-sessions.js';

describe('DashboardSessions', () => {
  it('finds a session until it expires', async () => {
    let now = 1_000_000;
    const sessions = new DashboardSessions(new MemoryDashboardSessionStore(), { lifetimeMs: 60_000, now: () => now });
    const { id, session } = await sessions.create('a'.repeat(64));
    expect(session.expiresAt).toBe(1_060_000);
    expect(await sessions.find(id)).toEqual(session);
    now += 59_999;
    expect(await sessions.find(id)).toEqual(session);
    now += 1;
    expect(await sessions.find(id)).toBeUndefined();
  });

  it('gives every session its own random id and CSRF token, and stores only a digest of the id', async () => {
    const store = new MemoryDashboardSessionStore();
    const sessions = new DashboardSessions(store);
    const first = await sessions.create('a'.repeat(64));
    const second = await sessions.create('a'.repeat(64));
    expect(first.id).not.toBe(second.id);
    expect(first.session.csrfToken).not.toBe(second.session.csrfToken);
    expect(first.id).not.toBe(first.session.csrfToken);
    expect(first.id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await store.find(first.id, 0)).toBeUndefined();
    await sessions.delete(first.id);
    expect(await sessions.find(first.id)).toBeUndefined();
    expect(await sessions.find(second.id)).toEqual(second.session);
  });

  it('drops expired sessions when a new one starts, and the oldest beyond the cap', async () => {
    let now = 0;
    const sessions = new DashboardSessions(new MemoryDashboardSessionStore(), { lifetimeMs: 10, maxSessions: 3, now: () => now });
    await sessions.create('x');
    await sessions.create('x');
    now = 20;
    const kept = [];
    for (let index = 0; index < 3; index++) {
      now++;
      kept.push(await sessions.create('x'));
    }
    now++;
    const newest = await sessions.create('x');
    expect(await sessions.find(kept[0]!.id)).toBeUndefined();
    for (const session of [kept[1]!, kept[2]!, newest]) expect(await sessions.find(session.id)).toBeDefined();
  });

  it('knows a session started by another replica sharing the store', async () => {
    const store = new MemoryDashboardSessionStore();
    const [a, b] = [new DashboardSessions(store), new DashboardSessions(store)];
    const { id, session } = await a.create('a'.repeat(64));
    expect(await b.find(id)).toEqual(session);
    await b.delete(id);
    expect(await a.find(id)).toBeUndefined();
  });
});
