import { describe, expect, it } from 'vitest';
import { DashboardSessions } from './dashboard-sessions.js';

describe('DashboardSessions', () => {
  it('finds a session until it expires, then forgets it', () => {
    let now = 1_000_000;
    const sessions = new DashboardSessions({ lifetimeMs: 60_000, now: () => now });
    const { id, session } = sessions.create('a'.repeat(64));
    expect(session.expiresAt).toBe(1_060_000);
    expect(sessions.find(id)).toBe(session);
    now += 59_999;
    expect(sessions.find(id)).toBe(session);
    now += 1;
    expect(sessions.find(id)).toBeUndefined();
    expect(sessions.size).toBe(0);
  });

  it('gives every session its own random id and CSRF token', () => {
    const sessions = new DashboardSessions();
    const first = sessions.create('a'.repeat(64));
    const second = sessions.create('a'.repeat(64));
    expect(first.id).not.toBe(second.id);
    expect(first.session.csrfToken).not.toBe(second.session.csrfToken);
    expect(first.id).not.toBe(first.session.csrfToken);
    expect(first.id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    sessions.delete(first.id);
    expect(sessions.find(first.id)).toBeUndefined();
    expect(sessions.find(second.id)).toBe(second.session);
  });

  it('drops expired sessions when a new one starts, and the oldest beyond the cap', () => {
    let now = 0;
    const sessions = new DashboardSessions({ lifetimeMs: 10, maxSessions: 3, now: () => now });
    sessions.create('x');
    sessions.create('x');
    now = 20;
    const kept = [sessions.create('x'), sessions.create('x'), sessions.create('x')];
    expect(sessions.size).toBe(3);
    const newest = sessions.create('x');
    expect(sessions.size).toBe(3);
    expect(sessions.find(kept[0]!.id)).toBeUndefined();
    expect(sessions.find(newest.id)).toBeDefined();
  });
});
