import type { Kysely } from 'kysely';
import type { CanaryStatesTable, RelayDatabase } from './database-schema.js';
import type { CanaryPhase, CanarySamples, CanaryState, CanaryStore } from './relay-store.js';

/** Canary state and samples in SQL (SQLite or Postgres through Kysely). */
export function createSqlCanaryStore(db: Kysely<RelayDatabase>): CanaryStore {
  return {
    async get(model, fingerprint) {
      const row = await db.selectFrom('canary_states').selectAll().where('model', '=', model).where('fingerprint', '=', fingerprint).executeTakeFirst();
      return row === undefined ? undefined : stateFromRow(row);
    },

    async compareAndSet(state) {
      const row = stateToRow(state);
      if (state.version === 1) {
        // No row inserted: another replica wrote the first version meanwhile.
        const result = await db
          .insertInto('canary_states')
          .values(row)
          .onConflict((conflict) => conflict.columns(['model', 'fingerprint']).doNothing())
          .executeTakeFirst();
        return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
      }
      const result = await db
        .updateTable('canary_states')
        .set(row)
        .where('model', '=', state.model)
        .where('fingerprint', '=', state.fingerprint)
        .where('version', '=', state.version - 1)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async addSamples(model, fingerprint, interval, samples) {
      const row = { model, fingerprint, interval_index: interval, replica: samples.replica, requests: samples.requests, successes: samples.successes, latencies: JSON.stringify(samples.latenciesMs) };
      await db
        .insertInto('canary_samples')
        .values(row)
        .onConflict((conflict) => conflict.columns(['model', 'fingerprint', 'interval_index', 'replica']).doUpdateSet({ requests: row.requests, successes: row.successes, latencies: row.latencies }))
        .execute();
    },

    async samples(model, fingerprint, interval) {
      const rows = await db
        .selectFrom('canary_samples')
        .selectAll()
        .where('model', '=', model)
        .where('fingerprint', '=', fingerprint)
        .where('interval_index', '=', interval)
        .orderBy('replica')
        .execute();
      return rows.map((row): CanarySamples => ({ replica: row.replica, requests: Number(row.requests), successes: Number(row.successes), latenciesMs: JSON.parse(row.latencies) as number[] }));
    },

    async pruneSamples(model, fingerprint, interval) {
      await db.deleteFrom('canary_samples').where('model', '=', model).where('fingerprint', '=', fingerprint).where('interval_index', '<', interval).execute();
    },
  };
}

function stateToRow(state: CanaryState): CanaryStatesTable {
  return {
    model: state.model,
    fingerprint: state.fingerprint,
    phase: state.phase,
    weight: state.weight,
    failed_checks: state.failedChecks,
    decided_interval: state.decidedInterval,
    history: JSON.stringify(state.history),
    version: state.version,
    updated_at: state.updatedAt,
  };
}

function stateFromRow(row: CanaryStatesTable): CanaryState {
  return {
    model: row.model,
    fingerprint: row.fingerprint,
    phase: row.phase as CanaryPhase,
    weight: Number(row.weight),
    failedChecks: Number(row.failed_checks),
    decidedInterval: Number(row.decided_interval),
    history: JSON.parse(row.history) as CanaryState['history'],
    version: Number(row.version),
    updatedAt: Number(row.updated_at),
  };
}
