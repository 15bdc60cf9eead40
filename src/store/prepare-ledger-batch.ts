import { compareText } from './compare-records.js';
import type { LedgerRecord } from './relay-store.js';
import { checkLedgerRecord } from './validate-store-input.js';

/**
 * Validates a batch, keeps the first record of each `requestId`, and sorts by `requestId`.
 *
 * The sort matters on Postgres: two transactions that insert overlapping ids in the same order
 * wait for each other instead of deadlocking. Validation happens before any write, so a bad record
 * rejects the whole batch rather than half of it.
 */
export function prepareLedgerBatch(records: readonly LedgerRecord[]): LedgerRecord[] {
  const byRequestId = new Map<string, LedgerRecord>();
  for (const record of records) {
    checkLedgerRecord(record);
    if (!byRequestId.has(record.requestId)) byRequestId.set(record.requestId, record);
  }
  return [...byRequestId.values()].sort((left, right) => compareText(left.requestId, right.requestId));
}
