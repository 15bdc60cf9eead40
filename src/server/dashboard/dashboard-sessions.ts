import { createHash, randomBytes } from 'node:crypto';

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

/** The map is keyed by a digest of the id, so a heap dump or a debugger holds nothing a browser could replay. */
const digestOf = (sessionId: string) => createHash('sha256').update(sessionId).digest('hex');

/**
 * The dashboard's sign-in sessions, held in this process's memory. A restart signs everyone out,
 * and with several replicas a session is known only to the replica that created it (the dashboard
 * is an operator tool; reach one replica, as the canary buttons need anyway). No timer: expired
 * sessions are dropped when they are looked up or when a new one is created.
 */
export class DashboardSessions {
  private readonly sessions = new Map<string, DashboardSession>();
  /** How long a session lasts from sign-in. */
  readonly lifetimeMs: number;
  private readonly maxSessions: number;
  private readonly now: () => number;

  constructor(options: DashboardSessionsOptions = {}) {
    this.lifetimeMs = options.lifetimeMs ?? 12 * 60 * 60 * 1000;
    this.maxSessions = options.maxSessions ?? 1000;
    this.now = options.now ?? Date.now;
  }

  /** Starts a session for a browser that proved it holds the admin key whose digest is `keySha256`. */
  create(keySha256: string): { id: string; session: DashboardSession } {
    this.dropExpired();
    while (this.sessions.size >= this.maxSessions) {
      const oldest = this.sessions.keys().next().value;
      if (oldest === undefined) break;
      this.sessions.delete(oldest);
    }
    const id = randomToken();
    const session: DashboardSession = { csrfToken: randomToken(), keySha256, expiresAt: this.now() + this.lifetimeMs };
    this.sessions.set(digestOf(id), session);
    return { id, session };
  }

  /** The live session with this id, if any. */
  find(id: string): DashboardSession | undefined {
    const digest = digestOf(id);
    const session = this.sessions.get(digest);
    if (session === undefined) return undefined;
    if (session.expiresAt <= this.now()) {
      this.sessions.delete(digest);
      return undefined;
    }
    return session;
  }

  delete(id: string): void {
    this.sessions.delete(digestOf(id));
  }

  get size(): number {
    return this.sessions.size;
  }

  private dropExpired(): void {
    const now = this.now();
    for (const [digest, session] of this.sessions) if (session.expiresAt <= now) this.sessions.delete(digest);
  }
}
