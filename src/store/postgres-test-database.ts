import { randomBytes } from 'node:crypto';
import pg from 'pg';

/*
 * Test support for the Postgres backend: finds out whether `DATABASE_URL` answers, hands out a
 * fresh schema per store so tests never see each other's rows, and drops them all at the end.
 */

/** Whether Postgres tests run here, and if not, why. */
export type PostgresAvailability = { url: string; available: true } | { url: string | undefined; available: false; reason: string };

export async function probePostgres(url = process.env.DATABASE_URL): Promise<PostgresAvailability> {
  if (url === undefined || url.trim() === '') return { url, available: false, reason: 'DATABASE_URL is not set' };
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    await client.query('select 1');
    return { url, available: true };
  } catch (error) {
    return { url, available: false, reason: `DATABASE_URL does not answer: ${error instanceof Error ? error.message : String(error)}` };
  } finally {
    await client.end().catch(() => {});
  }
}

/** Unique schema names for one test run, and their removal. */
export class TestSchemas {
  private readonly run = `relay_test_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  private readonly created: string[] = [];

  constructor(private readonly url: string) {}

  next(): string {
    const schema = `${this.run}_${this.created.length}`;
    this.created.push(schema);
    return schema;
  }

  async dropAll(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url });
    await client.connect();
    try {
      for (const schema of this.created) await client.query(`drop schema if exists "${schema}" cascade`);
    } finally {
      await client.end();
    }
  }
}
