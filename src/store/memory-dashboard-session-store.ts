import type { DashboardSessionRecord, DashboardSessionStore } from './relay-store.js';

/** Dashboard sessions in a map, for one process: the same semantics as in SQL. */
export class MemoryDashboardSessionStore implements DashboardSessionStore {
  private readonly sessions = new Map<string, DashboardSessionRecord>();

  async create(record: DashboardSessionRecord): Promise<void> {
    this.sessions.set(record.idSha256, { ...record });
  }

  async find(idSha256: string, now: number): Promise<DashboardSessionRecord | undefined> {
    const session = this.sessions.get(idSha256);
    return session === undefined || session.expiresAt <= now ? undefined : { ...session };
  }

  async delete(idSha256: string): Promise<void> {
    this.sessions.delete(idSha256);
  }

  async prune(now: number, keep: number): Promise<void> {
    for (const [id, session] of this.sessions) if (session.expiresAt <= now) this.sessions.delete(id);
    const byAge = [...this.sessions.values()].sort((left, right) => right.createdAt - left.createdAt || (right.idSha256 < left.idSha256 ? -1 : 1));
    for (const session of byAge.slice(keep)) this.sessions.delete(session.idSha256);
  }
}
