import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { freshSchema, reachable } from './support/services.js';

const run = promisify(execFile);
const relayBin = join(import.meta.dirname, '..', 'bin', 'relay.js');
const services = await reachable();
if (services.why !== undefined) process.stdout.write(`postgres-schema-churn.e2e: skipped: ${services.why}\n`);

describe.skipIf(services.databaseUrl === undefined)('a relay on a Postgres database whose other schemas come and go', () => {
  it('migrates its schema while another client creates and drops schemas of its own', async () => {
    const databaseUrl = services.databaseUrl!;
    const churn = new pg.Client({ connectionString: databaseUrl });
    await churn.connect();
    const prefix = `churn_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 6)}`;
    let stop = false;
    // Another application (or a test run) on the same database: schemas with a table each, dropped as soon as made.
    const churning = (async () => {
      for (let round = 0; !stop; round++) {
        const schema = `${prefix}_${round % 20}`;
        await churn.query(`create schema if not exists ${schema}; create table if not exists ${schema}.rows (id int primary key, note text)`);
        await churn.query(`drop schema ${schema} cascade`);
      }
    })();
    const cwd = mkdtempSync(join(tmpdir(), 'relay-churn-'));
    const outcomes: string[] = [];
    try {
      for (let start = 0; start < 8; start++) {
        const schema = await freshSchema(databaseUrl);
        try {
          const migrated = await run(process.execPath, [relayBin, 'migrate'], { cwd, env: { PATH: process.env.PATH ?? '', DATABASE_URL: schema.url } }).then(
            ({ stdout }) => stdout,
            (error: { stderr?: string }) => `failed: ${error.stderr ?? String(error)}`,
          );
          outcomes.push(migrated.trim());
        } finally {
          await schema.drop();
        }
      }
    } finally {
      stop = true;
      await churning;
      await churn.end();
    }
    expect(outcomes.filter((outcome) => outcome.startsWith('failed'))).toEqual([]);
    expect(outcomes.every((outcome) => /^postgres .*applied /.test(outcome))).toBe(true);
  }, 120_000);
});
