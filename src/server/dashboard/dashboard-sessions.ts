import { createHash, randomBytes } from 'node:crypto';
import type { DashboardSessionStore } from '../../store/relay-store.js';

/** A signed-in dashboard browser, as the relay remembers it. Never the key itself. */
export interface DashboardSession {
  /** The value the browser must echo in `x-relay-csrf` on state-changing admin requests. */
  csrfToken: string;
  /** SHA-256 of the key used to sign in: the session ends when that key stops being an admin key. */
  keySha256: string;
  /** Epoch ms. */
  expiresAt: number;
}

export interface DashboardSessionsOptions {
  /** How long a session lasts from sign-in (default 12 hours): an absolute limit, not renewed by use. */
  lifetimeMs?: number;
  /** The most sessions kept at once; the oldest goes first (default 1000). */
  maxSessions?: number;
  now?: () => number;
}

/** 256 random bits, URL-safe: neither guessable nor worth brute-forcing. */
const randomToken = () => randomBytes(32).toString('base64url');

/** Sessions are stored under a digest of the id, so a database dump holds nothing a browser could replay. */
const digestOf = (sessionId: string) => createHash('sha256').update(sessionId).digest('hex');

/**
 * The dashboard's sign-in sessions, in the relay's store: they outlive a restart, and every replica
 * sharing the database knows every session, so a browser behind a load balancer stays signed in.
 * No timer: expired sessions (and the oldest beyond `maxSessions`) go when a new one starts.
 */
export class DashboardSessions {
  /** How long a session lasts from sign-in. */
  readonly lifetimeMs: number;
  private readonly maxSessions: number;
  private readonly now: () => number;

  constructor(
    private readonly store: DashboardSessionStore,
    options: DashboardSessionsOptions = {},
  ) {
    this.lifetimeMs = options.lifetimeMs ?? 12 * 60 * 60 * 1000;
    this.maxSessions = options.maxSessions ?? 1000;
    this.now = options.now ?? Date.now;
  }

  /** Starts a session for a browser that proved it holds the admin key whose digest is `keySha256`. */
  async create(keySha256: string): Promise<{ id: string; session: DashboardSession }> {
    const now = this.now();
    // Room for the new one: the newest `maxSessions - 1` stay.
    await this.store.prune(now, this.maxSessions - 1);
    const id = randomToken();
    const session: DashboardSession = { csrfToken: randomToken(), keySha256, expiresAt: now + this.lifetimeMs };
    await this.store.create({ idSha256: digestOf(id), ...session, createdAt: now });
    return { id, session };
  }

  /** The live session with this id, if any. */
  async find(id: string): Promise<DashboardSession | undefined> {
    const stored = await this.store.find(digestOf(id), this.now());
    return stored === undefined ? undefined : { csrfToken: stored.csrfToken, keySha256: stored.keySha256, expiresAt: stored.expiresAt };
  }

  async delete(id: string): Promise<void> {
    await this.store.delete(digestOf(id));
  }
}
