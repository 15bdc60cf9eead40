import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BudgetedRecord, CanaryState, Currency, DashboardSessionRecord, LedgerRecord, RelayStore, ResponseItemRecord } from './relay-store.js';
import { keyInput, ledgerRecord, sha256Of } from './relay-store.fixtures.js';

const day1 = Date.UTC(2024, 4, 1, 23, 59, 59, 999);
const day2 = Date.UTC(2024, 4, 2, 0, 0, 0, 0);

/**
 * Registers, as vitest tests, the behaviour every {@link RelayStore} must have. Each test gets a
 * fresh, empty store from `factory` and closes it afterwards, so the factory decides isolation
 * (a new SQLite file, a new Postgres schema).
 */
export function describeRelayStoreContract(name: string, factory: () => Promise<RelayStore>): void {
  describe(`RelayStore contract: ${name}`, () => {
    let store: RelayStore;
    beforeEach(async () => {
      store = await factory();
    });
    afterEach(async () => {
      await store.close();
    });

    describe('accounts', () => {
      it('creates accounts with generated or given ids and lists them in creation order', async () => {
        const generated = await store.accounts.create({ name: 'Acme', currency: 'USD', metadata: { plan: 'pro', seats: 3 } });
        expect(generated.id).toMatch(/^acct_[A-Za-z0-9_-]{16,}$/);
        expect(generated).toMatchObject({ name: 'Acme', currency: 'USD', balanceMicros: 0, metadata: { plan: 'pro', seats: 3 } });
        const given = await store.accounts.create({ id: 'acct_given', name: 'Beta', currency: 'CNY', balanceMicros: 5_000_000 });
        expect(given).toMatchObject({ id: 'acct_given', currency: 'CNY', balanceMicros: 5_000_000, metadata: null });
        expect(await store.accounts.get('acct_given')).toEqual(given);
        expect(await store.accounts.get(generated.id)).toEqual(generated);
        expect(await store.accounts.get('acct_missing')).toBeUndefined();
        const listed = await store.accounts.list();
        expect(listed.map((account) => account.id).sort()).toEqual([generated.id, 'acct_given'].sort());
      });

      it('refuses a taken id and invalid money', async () => {
        await store.accounts.create({ id: 'acct_dup', name: 'One', currency: 'EUR' });
        await expect(store.accounts.create({ id: 'acct_dup', name: 'Two', currency: 'EUR' })).rejects.toMatchObject({ code: 'RELAY_STORE_CONFLICT' });
        await expect(store.accounts.create({ name: 'Bad', currency: 'USD', balanceMicros: 1.5 })).rejects.toMatchObject({ code: 'RELAY_STORE_INVALID' });
        await expect(store.accounts.create({ name: 'Bad', currency: 'GBP' as Currency })).rejects.toMatchObject({ code: 'RELAY_STORE_INVALID' });
      });

      it('tops up and corrects balances, and refuses unknown accounts', async () => {
        const account = await store.accounts.create({ name: 'Acme', currency: 'USD', balanceMicros: 1_000_000 });
        expect((await store.accounts.adjustBalance(account.id, 25_000_000, 'top-up')).balanceMicros).toBe(26_000_000);
        expect((await store.accounts.adjustBalance(account.id, -500_000, 'correction')).balanceMicros).toBe(25_500_000);
        expect((await store.accounts.get(account.id))?.balanceMicros).toBe(25_500_000);
        await expect(store.accounts.adjustBalance('acct_missing', 1, 'top-up')).rejects.toMatchObject({ code: 'RELAY_STORE_NOT_FOUND' });
        await expect(store.accounts.adjustBalance(account.id, 0.5, 'half')).rejects.toMatchObject({ code: 'RELAY_STORE_INVALID' });
      });

      it("lists an account's balance transactions, newest first", async () => {
        const account = await store.accounts.create({ name: 'History', currency: 'EUR', balanceMicros: 1_000 });
        const other = await store.accounts.create({ name: 'Other', currency: 'EUR', balanceMicros: 5 });
        for (const [delta, note] of [[2_000, 'invoice 1'], [-500, 'correction'], [300, 'invoice 2']] as const) {
          // Apart in time, so that "newest" is one order in every store.
          await new Promise((resolve) => setTimeout(resolve, 3));
          await store.accounts.adjustBalance(account.id, delta, note);
        }
        const listed = await store.accounts.transactions(account.id, 10);
        expect(listed.map(({ deltaMicros, balanceAfterMicros, note }) => [deltaMicros, balanceAfterMicros, note])).toEqual([
          [300, 2_800, 'invoice 2'],
          [-500, 2_500, 'correction'],
          [2_000, 3_000, 'invoice 1'],
          [1_000, 1_000, 'opening balance'],
        ]);
        expect(listed.every((transaction) => transaction.accountId === account.id && /^btx_/.test(transaction.id))).toBe(true);
        expect((await store.accounts.transactions(account.id, 2)).map((transaction) => transaction.note)).toEqual(['invoice 2', 'correction']);
        expect(await store.accounts.transactions(other.id, 10)).toHaveLength(1);
        expect(await store.accounts.transactions('acct_missing', 10)).toEqual([]);
      });

      it('keeps the credit changes written with balances until they are forgotten', async () => {
        const opened = await store.accounts.create({ name: 'Prepaid', currency: 'USD', balanceMicros: 100_000, creditChangeId: 'cc_open' });
        await store.accounts.create({ name: 'Unmetered', currency: 'USD', creditChangeId: 'cc_nothing' });
        await store.accounts.adjustBalance(opened.id, 50_000, 'top-up', 'cc_top_up');
        await store.accounts.adjustBalance(opened.id, -1_000, 'correction');
        expect(await store.accounts.creditChanges()).toEqual([
          { id: 'cc_open', accountId: opened.id, deltaMicros: 100_000, createdAt: expect.any(Number) },
          { id: 'cc_top_up', accountId: opened.id, deltaMicros: 50_000, createdAt: expect.any(Number) },
        ]);
        await store.accounts.forgetCreditChanges(['cc_open', 'cc_missing']);
        expect((await store.accounts.creditChanges()).map((change) => change.id)).toEqual(['cc_top_up']);
        await store.accounts.adjustBalance(opened.id, 7, 'top-up', 'cc_again');
        await store.accounts.forgetCreditChanges(['cc_top_up', 'cc_again']);
        expect(await store.accounts.creditChanges()).toEqual([]);
        // A failed adjustment leaves no credit change behind.
        await expect(store.accounts.adjustBalance('acct_missing', 5, 'top-up', 'cc_orphan')).rejects.toMatchObject({ code: 'RELAY_STORE_NOT_FOUND' });
        expect(await store.accounts.creditChanges()).toEqual([]);
        expect((await store.accounts.get(opened.id))?.balanceMicros).toBe(149_007);
      });

      it('reads every balance with the sum of its waiting credit changes', async () => {
        const first = await store.accounts.create({ name: 'First', currency: 'USD', balanceMicros: 100, creditChangeId: 'cc_first_open' });
        const second = await store.accounts.create({ name: 'Second', currency: 'CNY', balanceMicros: 7 });
        await store.accounts.adjustBalance(first.id, 40, 'top-up', 'cc_first_top_up');
        await store.accounts.adjustBalance(second.id, -2, 'correction');
        await store.accounts.forgetCreditChanges(['cc_first_open']);
        const read = await store.accounts.balancesWithWaitingChanges();
        expect(read.map(({ account, waitingMicros }) => [account.name, account.balanceMicros, waitingMicros]).sort()).toEqual([
          ['First', 140, 40],
          ['Second', 5, 0],
        ]);
      });

      it('applies concurrent adjustments without losing any', async () => {
        const account = await store.accounts.create({ name: 'Busy', currency: 'USD' });
        await Promise.all(Array.from({ length: 20 }, (_, index) => store.accounts.adjustBalance(account.id, index + 1, `top-up ${index}`)));
        expect((await store.accounts.get(account.id))?.balanceMicros).toBe(210);
      });
    });

    describe('keys', () => {
      it('creates, reads, lists and updates keys', async () => {
        const account = await store.accounts.create({ name: 'Acme', currency: 'USD' });
        const input = keyInput({
          accountId: account.id,
          models: ['gpt-4o*', 'claude-*'],
          rpm: 60,
          tpm: 100_000,
          maxParallel: 4,
          budget: { amountMicros: 10_000_000, currency: 'USD', period: 'monthly' },
          expiresAt: Date.UTC(2030, 0, 1),
          metadata: { owner: 'team-a', tags: ['x'] },
          createdAt: Date.UTC(2024, 0, 1),
        });
        const created = await store.keys.create(input);
        expect(created.id).toMatch(/^key_/);
        expect(created).toMatchObject({ ...input, revokedAt: null });
        expect(created.updatedAt).toBeGreaterThanOrEqual(Date.now() - 60_000);
        expect(await store.keys.get(created.id)).toEqual(created);
        expect(await store.keys.get('key_missing')).toBeUndefined();

        const updated = await store.keys.update(created.id, { name: 'renamed', rpm: null, budget: null, models: ['gpt-4o'], tpm: undefined });
        expect(updated).toMatchObject({ name: 'renamed', rpm: null, budget: null, models: ['gpt-4o'], tpm: 100_000, maxParallel: 4, sha256: input.sha256 });
        expect(updated?.updatedAt).toBeGreaterThan(created.updatedAt);
        expect(await store.keys.get(created.id)).toEqual(updated);
        expect(await store.keys.update('key_missing', { name: 'x' })).toBeUndefined();

        const second = await store.keys.create(keyInput({ id: 'key_second' }));
        expect((await store.keys.list()).map((key) => key.id)).toEqual([created.id, second.id]);
      });

      it('refuses taken ids and secrets, unknown accounts and malformed hashes', async () => {
        const first = await store.keys.create(keyInput({ id: 'key_taken' }));
        await expect(store.keys.create(keyInput({ id: 'key_taken' }))).rejects.toMatchObject({ code: 'RELAY_STORE_CONFLICT' });
        await expect(store.keys.create(keyInput({ sha256: first.sha256 }))).rejects.toMatchObject({ code: 'RELAY_STORE_CONFLICT' });
        await expect(store.keys.create(keyInput({ accountId: 'acct_missing' }))).rejects.toMatchObject({ code: 'RELAY_STORE_NOT_FOUND' });
        await expect(store.keys.update(first.id, { accountId: 'acct_missing' })).rejects.toMatchObject({ code: 'RELAY_STORE_NOT_FOUND' });
        await expect(store.keys.create(keyInput({ sha256: 'ABC' }))).rejects.toMatchObject({ code: 'RELAY_STORE_INVALID' });
        // Limits beyond Postgres's 32-bit columns, refused alike by every backend.
        await expect(store.keys.create(keyInput({ rpm: 2_147_483_648 }))).rejects.toMatchObject({ code: 'RELAY_STORE_INVALID' });
        await expect(store.keys.update(first.id, { tpm: 3_000_000_000 })).rejects.toMatchObject({ code: 'RELAY_STORE_INVALID' });
        await expect(store.keys.update(first.id, { maxParallel: 2 ** 53 - 1 })).rejects.toMatchObject({ code: 'RELAY_STORE_INVALID' });
        expect((await store.keys.update(first.id, { rpm: 2_147_483_647, tpm: 2_147_483_647, maxParallel: 2_147_483_647 }))?.rpm).toBe(2_147_483_647);
        expect(await store.keys.list()).toHaveLength(1);
      });

      it('finds keys by the hash of their secret', async () => {
        const key = await store.keys.create(keyInput());
        expect(await store.keys.findBySha256(key.sha256)).toEqual(key);
        expect(await store.keys.findBySha256(sha256Of('unknown'))).toBeUndefined();
      });

      it('rotates a key: new hash and prefix, old hash gone, updatedAt bumped', async () => {
        const key = await store.keys.create(keyInput());
        const other = await store.keys.create(keyInput());
        const newHash = sha256Of('sk-relay-new-secret');
        const rotated = await store.keys.rotate(key.id, newHash, 'sk-relay-new');
        expect(rotated).toMatchObject({ id: key.id, sha256: newHash, prefix: 'sk-relay-new', name: key.name });
        expect(rotated?.updatedAt).toBeGreaterThan(key.updatedAt);
        expect(await store.keys.findBySha256(key.sha256)).toBeUndefined();
        expect((await store.keys.findBySha256(newHash))?.id).toBe(key.id);
        expect(await store.keys.rotate('key_missing', sha256Of('x'), 'sk-x')).toBeUndefined();
        await expect(store.keys.rotate(key.id, other.sha256, 'sk-other')).rejects.toMatchObject({ code: 'RELAY_STORE_CONFLICT' });
        expect((await store.keys.changedSince(key.updatedAt)).map((changed) => changed.id)).toContain(key.id);
      });

      it('leaves a revoked key as it is when asked to rotate it', async () => {
        const key = await store.keys.create(keyInput());
        const revoked = (await store.keys.revoke(key.id))!;
        expect(await store.keys.rotate(key.id, sha256Of('sk-relay-after-revocation'), 'sk-relay-aft')).toEqual(revoked);
        expect(await store.keys.get(key.id)).toEqual(revoked);
        expect(await store.keys.findBySha256(sha256Of('sk-relay-after-revocation'))).toBeUndefined();
        expect(await store.keys.changedSince(revoked.updatedAt)).toEqual([]);
      });

      it('revokes a key once, bumps updatedAt, and changedSince sees it', async () => {
        const key = await store.keys.create(keyInput());
        const kept = await store.keys.create(keyInput());
        const revoked = await store.keys.revoke(key.id, 1_700_000_000_000);
        expect(revoked?.revokedAt).toBe(1_700_000_000_000);
        expect(revoked?.updatedAt).toBeGreaterThan(key.updatedAt);
        const changed = await store.keys.changedSince(Math.max(key.updatedAt, kept.updatedAt));
        expect(changed.map((record) => record.id)).toContain(key.id);
        expect(changed.find((record) => record.id === key.id)?.revokedAt).toBe(1_700_000_000_000);

        const again = await store.keys.revoke(key.id, 1_800_000_000_000);
        expect(again).toEqual(revoked);
        expect(await store.keys.revoke('key_missing')).toBeUndefined();

        expect((await store.keys.list()).map((record) => record.id)).toEqual([kept.id]);
        expect((await store.keys.list({ includeRevoked: true })).map((record) => record.id).sort()).toEqual([key.id, kept.id].sort());
        expect((await store.keys.findBySha256(key.sha256))?.revokedAt).toBe(1_700_000_000_000);
      });

      it('gives every change a strictly later updatedAt, in order, even within one millisecond', async () => {
        const key = await store.keys.create(keyInput());
        const stamps = [key.updatedAt];
        for (let change = 0; change < 5; change += 1) {
          const updated = await store.keys.update(key.id, { rpm: change + 1 });
          stamps.push(updated?.updatedAt ?? Number.NaN);
        }
        for (let index = 1; index < stamps.length; index += 1) expect(stamps[index]).toBeGreaterThan(stamps[index - 1] ?? Number.NaN);
        const other = await store.keys.create(keyInput());
        const changed = await store.keys.changedSince(key.updatedAt);
        expect(changed.map((record) => record.id).sort()).toEqual([key.id, other.id].sort());
        const changeTimes = changed.map((record) => record.updatedAt);
        expect(changeTimes).toEqual([...changeTimes].sort((left, right) => left - right));
        expect(changed.find((record) => record.id === key.id)?.rpm).toBe(5);
        const latest = Math.max(...changed.map((record) => record.updatedAt));
        expect(await store.keys.changedSince(latest)).toEqual([]);
      });

      it('hands out copies: changing a returned record does not change the stored one', async () => {
        const key = await store.keys.create(keyInput({ models: ['a'] }));
        key.models?.push('b');
        const fetched = await store.keys.get(key.id);
        expect(fetched?.models).toEqual(['a']);
        if (fetched !== undefined) fetched.name = 'mutated';
        expect((await store.keys.get(key.id))?.name).toBe('test key');
      });
    });

    describe('ledger', () => {
      it('inserts a requestId once and debits its account once', async () => {
        const account = await store.accounts.create({ name: 'Acme', currency: 'USD', balanceMicros: 10_000_000 });
        const record = ledgerRecord({ accountId: account.id, costMicros: 2_500 });
        expect(await store.ledger.insertBatch([record])).toBe(1);
        expect(await store.ledger.insertBatch([record])).toBe(0);
        expect(await store.ledger.insertBatch([record, { ...record, costMicros: 9_999 }])).toBe(0);
        const fresh = ledgerRecord({ accountId: account.id, costMicros: 500 });
        expect(await store.ledger.insertBatch([fresh, fresh, record])).toBe(1);
        expect(await store.ledger.count()).toBe(2);
        expect((await store.accounts.get(account.id))?.balanceMicros).toBe(10_000_000 - 2_500 - 500);
        expect(await store.ledger.insertBatch([])).toBe(0);
      });

      it('debits exactly the inserted costs, per account', async () => {
        const first = await store.accounts.create({ name: 'First', currency: 'USD', balanceMicros: 1_000_000 });
        const second = await store.accounts.create({ name: 'Second', currency: 'USD' });
        const already = ledgerRecord({ accountId: first.id, costMicros: 7 });
        await store.ledger.insertBatch([already]);
        const batch = [
          ledgerRecord({ accountId: first.id, costMicros: 123_456 }),
          ledgerRecord({ accountId: first.id, costMicros: 1 }),
          ledgerRecord({ accountId: second.id, costMicros: 999_999 }),
          ledgerRecord({ accountId: null, costMicros: 50 }),
          ledgerRecord({ accountId: 'acct_unknown', costMicros: 60 }),
          already,
        ];
        expect(await store.ledger.insertBatch(batch)).toBe(5);
        expect((await store.accounts.get(first.id))?.balanceMicros).toBe(1_000_000 - 7 - 123_456 - 1);
        expect((await store.accounts.get(second.id))?.balanceMicros).toBe(-999_999);
        expect(await store.ledger.count()).toBe(6);
      });

      it('writes the debits of records drawn in memory as credit changes too, one per account and batch, for the rows it inserts', async () => {
        const first = await store.accounts.create({ name: 'First', currency: 'USD', balanceMicros: 1_000_000 });
        const second = await store.accounts.create({ name: 'Second', currency: 'USD', balanceMicros: 1_000_000 });
        const already = ledgerRecord({ accountId: first.id, costMicros: 7, drawnInMemory: true });
        await store.ledger.insertBatch([already]);
        const batch = [
          ledgerRecord({ accountId: first.id, costMicros: 100, drawnInMemory: true }),
          ledgerRecord({ accountId: first.id, costMicros: 20, drawnInMemory: true }),
          ledgerRecord({ accountId: first.id, costMicros: 3 }),
          ledgerRecord({ accountId: second.id, costMicros: 40, drawnInMemory: true }),
          ledgerRecord({ accountId: second.id, costMicros: 0, drawnInMemory: true }),
          ledgerRecord({ accountId: null, costMicros: 50, drawnInMemory: true }),
          already,
        ];
        expect(await store.ledger.insertBatch(batch)).toBe(6);
        expect((await store.accounts.get(first.id))?.balanceMicros).toBe(1_000_000 - 7 - 100 - 20 - 3);
        const changes = await store.accounts.creditChanges();
        expect(changes.map(({ accountId, deltaMicros }) => [accountId === first.id ? 'first' : 'second', deltaMicros]).sort()).toEqual([
          ['first', -120],
          ['first', -7],
          ['second', -40],
        ]);
        expect(new Set(changes.map((change) => change.id)).size).toBe(3);
        // Read with the balances: what Redis should hold before it counts them.
        const waiting = new Map((await store.accounts.balancesWithWaitingChanges()).map(({ account, waitingMicros }) => [account.id, waitingMicros]));
        expect([waiting.get(first.id), waiting.get(second.id)]).toEqual([-127, -40]);
        // Stored as any other row: the mark is not.
        expect((await store.ledger.usage({ groupBy: 'key' })).reduce((sum, row) => sum + row.requests, 0)).toBe(7);
      });

      it('hands back the records it inserts whose key has a budget, with that budget', async () => {
        const daily = { amountMicros: 1_000_000, currency: 'USD' as const, period: 'daily' as const };
        const budgeted = await store.keys.create(keyInput({ budget: daily }));
        const unlimited = await store.keys.create(keyInput());
        const already = ledgerRecord({ keyId: budgeted.id, budgetPeriod: null });
        await store.ledger.insertBatch([already]);
        const charged = ledgerRecord({ keyId: budgeted.id, budgetPeriod: '2024-01-15' });
        const uncharged = ledgerRecord({ keyId: budgeted.id, budgetPeriod: null });
        const unknown = ledgerRecord({ keyId: budgeted.id });
        const handed: BudgetedRecord[] = [];
        const batch = [charged, uncharged, unknown, ledgerRecord({ keyId: unlimited.id, budgetPeriod: null }), ledgerRecord({ budgetPeriod: null }), already];
        expect(await store.ledger.insertBatch(batch, (records) => handed.push(...records))).toBe(5);
        expect(handed.map(({ record, budget }) => [record.requestId, budget]).sort()).toEqual(
          [
            [charged.requestId, daily],
            [uncharged.requestId, daily],
          ].sort(),
        );
        // Nothing inserted, nothing handed back; no callback, no read.
        handed.length = 0;
        expect(await store.ledger.insertBatch([charged], (records) => handed.push(...records))).toBe(0);
        expect(handed).toEqual([]);
        expect(await store.ledger.insertBatch([ledgerRecord({ keyId: budgeted.id, budgetPeriod: null })])).toBe(1);
      });

      it("changes a key and reads its ledger spend since an instant, per currency, together", async () => {
        const key = await store.keys.create(keyInput());
        await store.ledger.insertBatch([
          ledgerRecord({ keyId: key.id, costMicros: 10, createdAt: 1_000 }),
          ledgerRecord({ keyId: key.id, costMicros: 20, createdAt: 2_000 }),
          ledgerRecord({ keyId: key.id, costMicros: 30, currency: 'EUR', createdAt: 3_000 }),
          ledgerRecord({ costMicros: 40, createdAt: 3_000 }),
        ]);
        const budget = { amountMicros: 500, currency: 'EUR' as const, period: 'total' as const };
        const changed = await store.keys.updateCountingSpend(key.id, { budget }, 2_000);
        expect(changed?.key).toMatchObject({ id: key.id, budget });
        expect(changed?.key.updatedAt).toBeGreaterThan(key.updatedAt);
        expect(changed?.spent.map(({ currency, micros }) => [currency, micros]).sort()).toEqual([
          ['EUR', 30],
          ['USD', 20],
        ]);
        expect(await store.keys.updateCountingSpend('key_missing', { budget }, 0)).toBeUndefined();
      });

      it('counts each record written while a budget is set once: in the spend the change read, or handed back with the budget', async () => {
        const budget = { amountMicros: 1_000_000, currency: 'USD' as const, period: 'total' as const };
        for (let round = 0; round < 20; round++) {
          const key = await store.keys.create(keyInput());
          const records = Array.from({ length: 8 }, () => ledgerRecord({ keyId: key.id, costMicros: 1, budgetPeriod: null }));
          const handed: BudgetedRecord[] = [];
          // Batches and the change race one another.
          const [changed] = await Promise.all([
            store.keys.updateCountingSpend(key.id, { budget }, 0),
            ...records.map((record) => store.ledger.insertBatch([record], (written) => handed.push(...written))),
          ]);
          const read = changed?.spent.reduce((sum, { micros }) => sum + micros, 0) ?? 0;
          expect(read + handed.length).toBe(records.length);
        }
      });

      it('rejects a batch with an invalid record without writing any of it', async () => {
        const account = await store.accounts.create({ name: 'Acme', currency: 'USD' });
        const good = ledgerRecord({ accountId: account.id });
        await expect(store.ledger.insertBatch([good, ledgerRecord({ costMicros: 0.25 })])).rejects.toMatchObject({ code: 'RELAY_STORE_INVALID' });
        await expect(store.ledger.insertBatch([ledgerRecord({ currency: 'XYZ' as Currency })])).rejects.toMatchObject({ code: 'RELAY_STORE_INVALID' });
        // Each check names the record and the field.
        const invalid: Array<[Partial<LedgerRecord>, RegExp]> = [
          [{ requestId: 'req_neg', promptTokens: -1 }, /ledger record req_neg: promptTokens must be at least 0, got -1/],
          [{ requestId: 'req_big', completionTokens: 2 ** 53 }, /ledger record req_big: completionTokens must be a safe integer/],
          [{ requestId: 'req_time', createdAt: Number.NaN }, /ledger record req_time: createdAt must be a safe integer, got NaN/],
          [{ requestId: 'req_status', status: 200.5 }, /ledger record req_status: status must be a safe integer/],
          [{ requestId: 'req_cur', currency: 'GBP' as Currency }, /ledger record req_cur: currency must be one of/],
          [{ requestId: 'req_stream', stream: 'yes' as unknown as boolean }, /ledger record req_stream: stream must be a boolean/],
          [{ requestId: '' }, /requestId must be a non-empty string/],
        ];
        for (const [fields, message] of invalid) {
          await expect(store.ledger.insertBatch([ledgerRecord(fields)])).rejects.toMatchObject({ code: 'RELAY_STORE_INVALID', message: expect.stringMatching(message) });
        }
        expect(await store.ledger.count()).toBe(0);
        expect((await store.accounts.get(account.id))?.balanceMicros).toBe(0);
      });

      it('keeps the stream flag and every number', async () => {
        const record = ledgerRecord({ keyId: 'key_a', stream: true, promptTokens: 3_000_000_000, costMicros: 2 ** 40, createdAt: day1 });
        await store.ledger.insertBatch([record]);
        const [row] = await store.ledger.usage({ groupBy: 'key' });
        expect(row).toEqual({
          group: 'key_a',
          currency: 'USD',
          requests: 1,
          errors: 0,
          promptTokens: 3_000_000_000,
          completionTokens: 20,
          cachedTokens: 0,
          cacheWriteTokens: 0,
          costMicros: 2 ** 40,
          officialCostMicros: 1_200,
        });
      });

      it('sums usage by day, model and key, per currency, with filters', async () => {
        await store.ledger.insertBatch([
          ledgerRecord({ keyId: 'key_a', accountId: 'acct_x', model: 'gpt-4o', createdAt: day1, costMicros: 10, promptTokens: 3, completionTokens: 2, cachedTokens: 1, cacheWriteTokens: 2 }),
          ledgerRecord({ keyId: 'key_a', accountId: 'acct_x', model: 'gpt-4o', createdAt: day2, costMicros: 20, promptTokens: 3, completionTokens: 4, cachedTokens: 0, cacheWriteTokens: 3 }),
          ledgerRecord({ keyId: 'key_b', accountId: 'acct_y', model: 'claude', createdAt: day2, costMicros: 40, officialCostMicros: 50 }),
          ledgerRecord({ keyId: 'key_b', accountId: 'acct_y', model: 'claude', createdAt: day2 + 1000, costMicros: 70, currency: 'CNY' }),
          ledgerRecord({ keyId: null, model: 'deepseek-chat', createdAt: day1 - 1, costMicros: 5 }),
        ]);

        const byDay = await store.ledger.usage({ groupBy: 'day' });
        expect(byDay.map((row) => [row.group, row.currency, row.requests, row.costMicros])).toEqual([
          ['2024-05-01', 'USD', 2, 15],
          ['2024-05-02', 'CNY', 1, 70],
          ['2024-05-02', 'USD', 2, 60],
        ]);

        const byModel = await store.ledger.usage({ groupBy: 'model', keyId: 'key_a' });
        expect(byModel).toEqual([
          { group: 'gpt-4o', currency: 'USD', requests: 2, errors: 0, promptTokens: 6, completionTokens: 6, cachedTokens: 1, cacheWriteTokens: 5, costMicros: 30, officialCostMicros: 2_400 },
        ]);

        const byKey = await store.ledger.usage({ groupBy: 'key' });
        expect(byKey.map((row) => [row.group, row.currency, row.costMicros])).toEqual([
          ['', 'USD', 5],
          ['key_a', 'USD', 30],
          ['key_b', 'CNY', 70],
          ['key_b', 'USD', 40],
        ]);

        const window = await store.ledger.usage({ groupBy: 'key', from: day1, to: day2 + 1000 });
        expect(window.map((row) => [row.group, row.costMicros])).toEqual([
          ['key_a', 30],
          ['key_b', 40],
        ]);
        expect((await store.ledger.usage({ groupBy: 'model', accountId: 'acct_y' })).map((row) => row.costMicros)).toEqual([70, 40]);
        expect((await store.ledger.usage({ groupBy: 'day', model: 'claude', from: day2 + 1 })).map((row) => [row.group, row.currency])).toEqual([['2024-05-02', 'CNY']]);
        expect(await store.ledger.usage({ groupBy: 'day', keyId: 'key_none' })).toEqual([]);
      });

      it('counts the rows with a status of 400 or more as errors, per group and with filters', async () => {
        await store.ledger.insertBatch([
          ledgerRecord({ keyId: 'key_a', model: 'gpt-4o', createdAt: day1, status: 200 }),
          ledgerRecord({ keyId: 'key_a', model: 'gpt-4o', createdAt: day1, status: 399 }),
          ledgerRecord({ keyId: 'key_a', model: 'gpt-4o', createdAt: day1, status: 400 }),
          ledgerRecord({ keyId: 'key_a', model: 'claude', createdAt: day2, status: 502 }),
          ledgerRecord({ keyId: 'key_b', model: 'claude', createdAt: day2, status: 429, currency: 'EUR' }),
          ledgerRecord({ keyId: 'key_b', model: 'claude', createdAt: day2, status: 200 }),
        ]);
        const byDay = await store.ledger.usage({ groupBy: 'day' });
        expect(byDay.map((row) => [row.group, row.currency, row.requests, row.errors])).toEqual([
          ['2024-05-01', 'USD', 3, 1],
          ['2024-05-02', 'EUR', 1, 1],
          ['2024-05-02', 'USD', 2, 1],
        ]);
        const byModel = await store.ledger.usage({ groupBy: 'model', keyId: 'key_a' });
        expect(byModel.map((row) => [row.group, row.errors])).toEqual([
          ['claude', 1],
          ['gpt-4o', 1],
        ]);
        expect((await store.ledger.usage({ groupBy: 'key', from: day2 })).map((row) => [row.group, row.currency, row.errors])).toEqual([
          ['key_a', 'USD', 1],
          ['key_b', 'EUR', 1],
          ['key_b', 'USD', 0],
        ]);
      });

      it('counts a row with an error code as an error whatever its status: a stream that failed after its first byte', async () => {
        await store.ledger.insertBatch([
          ledgerRecord({ keyId: 'key_a', createdAt: day1, status: 200, stream: true }),
          ledgerRecord({ keyId: 'key_a', createdAt: day1, status: 200, stream: true, errorCode: 'upstream_error' }),
          ledgerRecord({ keyId: 'key_a', createdAt: day1, status: 502, errorCode: 'upstream_error' }),
        ]);
        expect((await store.ledger.usage({ groupBy: 'key' })).map((row) => [row.group, row.requests, row.errors])).toEqual([['key_a', 3, 2]]);
      });

      it('sums a key’s spend since a moment, in one currency', async () => {
        await store.ledger.insertBatch([
          ledgerRecord({ keyId: 'key_a', createdAt: 1_000, costMicros: 1 }),
          ledgerRecord({ keyId: 'key_a', createdAt: 2_000, costMicros: 10 }),
          ledgerRecord({ keyId: 'key_a', createdAt: 3_000, costMicros: 100 }),
          ledgerRecord({ keyId: 'key_a', createdAt: 3_000, costMicros: 1_000, currency: 'EUR' }),
          ledgerRecord({ keyId: 'key_b', createdAt: 3_000, costMicros: 10_000 }),
        ]);
        expect(await store.ledger.spendSince('key_a', 2_000, 'USD')).toBe(110);
        expect(await store.ledger.spendSince('key_a', 0, 'EUR')).toBe(1_000);
        expect(await store.ledger.spendSince('key_a', 3_001, 'USD')).toBe(0);
        expect(await store.ledger.spendSince('key_missing', 0, 'USD')).toBe(0);
      });

      it('never inserts or debits twice when overlapping batches run concurrently', async () => {
        const account = await store.accounts.create({ name: 'Acme', currency: 'USD', balanceMicros: 0 });
        const records = Array.from({ length: 60 }, (_, index) => ledgerRecord({ requestId: `req_${String(index).padStart(3, '0')}`, accountId: account.id, costMicros: index + 1 }));
        // Eight flushes of overlapping windows, some reversed, as retrying replicas would send them.
        const batches = Array.from({ length: 8 }, (_, index) => {
          const window = records.slice(index * 5, index * 5 + 25);
          return index % 2 === 0 ? window : [...window].reverse();
        });
        const inserted = await Promise.all(batches.map((batch) => store.ledger.insertBatch(batch)));
        const unique = new Set(batches.flat().map((record) => record.requestId));
        expect(inserted.reduce((sum, count) => sum + count, 0)).toBe(unique.size);
        expect(await store.ledger.count()).toBe(unique.size);
        const expectedCost = records.filter((record) => unique.has(record.requestId)).reduce((sum, record) => sum + record.costMicros, 0);
        expect((await store.accounts.get(account.id))?.balanceMicros).toBe(-expectedCost);
      });
    });

    describe('canaries', () => {
      const state = (version: number, weight: number): CanaryState => ({
        model: 'gpt-4.1',
        fingerprint: 'f1',
        phase: 'progressing',
        weight,
        failedChecks: 0,
        decidedInterval: version - 2,
        history: [{ at: 1, weight, requests: 3, successRate: 100, latencyP99Ms: 12.5, verdict: 'pass', action: 'step' }],
        version,
        updatedAt: 1_700_000_000_000 + version,
      });

      it('writes a change only over the version it was made from', async () => {
        expect(await store.canaries.get('gpt-4.1', 'f1')).toBeUndefined();
        expect(await store.canaries.compareAndSet(state(2, 15))).toBe(false);
        expect(await store.canaries.compareAndSet(state(1, 5))).toBe(true);
        // Another replica's first version, or a change from a version already replaced: refused.
        expect(await store.canaries.compareAndSet(state(1, 7))).toBe(false);
        expect(await store.canaries.compareAndSet(state(2, 15.5))).toBe(true);
        expect(await store.canaries.compareAndSet(state(2, 25))).toBe(false);
        expect(await store.canaries.get('gpt-4.1', 'f1')).toEqual(state(2, 15.5));
        // Another configuration of the same model is another canary.
        expect(await store.canaries.get('gpt-4.1', 'f2')).toBeUndefined();
        expect(await store.canaries.compareAndSet({ ...state(1, 5), fingerprint: 'f2' })).toBe(true);
        expect((await store.canaries.get('gpt-4.1', 'f1'))?.weight).toBe(15.5);
      });

      it('lets exactly one of concurrent writers from one version win', async () => {
        await store.canaries.compareAndSet(state(1, 5));
        const outcomes = await Promise.all(Array.from({ length: 6 }, (_, index) => store.canaries.compareAndSet(state(2, 10 + index))));
        expect(outcomes.filter(Boolean)).toHaveLength(1);
        expect((await store.canaries.get('gpt-4.1', 'f1'))?.weight).toBe(10 + outcomes.indexOf(true));
      });

      it("keeps each replica's samples of an interval, and prunes earlier intervals", async () => {
        await store.canaries.addSamples('gpt-4.1', 'f1', 7, { replica: 'b', requests: 2, successes: 1, latenciesMs: [10.5, 900] });
        await store.canaries.addSamples('gpt-4.1', 'f1', 7, { replica: 'a', requests: 1, successes: 1, latenciesMs: [3] });
        await store.canaries.addSamples('gpt-4.1', 'f1', 7, { replica: 'a', requests: 3, successes: 3, latenciesMs: [3, 4, 5] });
        await store.canaries.addSamples('gpt-4.1', 'f1', 6, { replica: 'a', requests: 1, successes: 0, latenciesMs: [1] });
        await store.canaries.addSamples('gpt-4.1', 'f2', 7, { replica: 'a', requests: 1, successes: 0, latenciesMs: [1] });
        expect(await store.canaries.samples('gpt-4.1', 'f1', 7)).toEqual([
          { replica: 'a', requests: 3, successes: 3, latenciesMs: [3, 4, 5] },
          { replica: 'b', requests: 2, successes: 1, latenciesMs: [10.5, 900] },
        ]);
        await store.canaries.pruneSamples('gpt-4.1', 'f1', 7);
        expect(await store.canaries.samples('gpt-4.1', 'f1', 6)).toEqual([]);
        expect(await store.canaries.samples('gpt-4.1', 'f1', 7)).toHaveLength(2);
        expect(await store.canaries.samples('gpt-4.1', 'f2', 7)).toHaveLength(1);
      });
    });

    describe('dashboard sessions', () => {
      const session = (id: string, createdAt: number, expiresAt = createdAt + 1000): DashboardSessionRecord => ({
        idSha256: sha256Of(id),
        csrfToken: `csrf-${id}`,
        keySha256: sha256Of('master'),
        expiresAt,
        createdAt,
      });

      it('finds a session until it expires or is deleted', async () => {
        await store.sessions.create(session('one', 1_000));
        await store.sessions.create(session('two', 1_001));
        expect(await store.sessions.find(sha256Of('one'), 1_999)).toEqual(session('one', 1_000));
        expect(await store.sessions.find(sha256Of('one'), 2_000)).toBeUndefined();
        expect(await store.sessions.find(sha256Of('missing'), 0)).toBeUndefined();
        await store.sessions.delete(sha256Of('two'));
        expect(await store.sessions.find(sha256Of('two'), 1_500)).toBeUndefined();
      });

      it('prunes expired sessions and the oldest beyond the number kept', async () => {
        for (let index = 0; index < 5; index++) await store.sessions.create(session(`s${index}`, 1_000 + index));
        await store.sessions.create(session('expired', 500, 900));
        await store.sessions.prune(950, 3);
        const left = [];
        for (const id of ['expired', 's0', 's1', 's2', 's3', 's4']) if ((await store.sessions.find(sha256Of(id), 950)) !== undefined) left.push(id);
        expect(left).toEqual(['s2', 's3', 's4']);
      });
    });

    describe('response items', () => {
      const record = (id: string, principalId: string, expiresAt: number, item = `{"type":"function_call","call_id":"call_${id}"}`): ResponseItemRecord => ({ id, principalId, item, expiresAt });

      it("finds a key's unexpired items by id, and no other key's", async () => {
        await store.responseItems.put([record('fc_1', 'key-a', 2_000), record('msg_1', 'key-a', 2_000, '{"type":"message","content":"é ✓"}'), record('fc_2', 'key-b', 2_000)]);
        const found = await store.responseItems.find('key-a', ['fc_1', 'msg_1', 'fc_2', 'fc_missing'], 1_000);
        expect(found.sort((left, right) => left.id.localeCompare(right.id))).toEqual([record('fc_1', 'key-a', 2_000), record('msg_1', 'key-a', 2_000, '{"type":"message","content":"é ✓"}')]);
        expect(await store.responseItems.find('key-a', ['fc_1'], 2_000)).toEqual([]);
        expect(await store.responseItems.find('key-a', [], 0)).toEqual([]);
      });

      it('replaces an item kept again under its id, and prunes the expired ones', async () => {
        await store.responseItems.put([record('fc_1', 'key-a', 2_000), record('fc_2', 'key-a', 1_500)]);
        await store.responseItems.put([record('fc_1', 'key-a', 3_000, '{"again":true}')]);
        await store.responseItems.put([]);
        await store.responseItems.prune(1_500);
        expect(await store.responseItems.find('key-a', ['fc_1', 'fc_2'], 0)).toEqual([record('fc_1', 'key-a', 3_000, '{"again":true}')]);
      });
    });

    describe('stored responses', () => {
      it('finds the records of unexpired ids, keeps the first record of an id, and prunes the expired ones', async () => {
        const a = { id: 'resp_a', principalId: 'key-a', provider: 'openai', expiresAt: 2_000 };
        const item = { id: 'msg_a', principalId: 'key-a', provider: 'openai', expiresAt: 2_000 };
        await store.storedResponses.put([a, item]);
        await store.storedResponses.put([{ id: 'resp_a', principalId: 'key-b', provider: 'other', expiresAt: 9_000 }, { id: 'resp_b', principalId: 'key-b', provider: 'openai#1a2b3c', expiresAt: 1_500 }]);
        await store.storedResponses.put([]);
        const found = await store.storedResponses.find(['resp_a', 'msg_a', 'resp_b', 'resp_missing'], 1_000);
        expect(found.sort((left, right) => left.id.localeCompare(right.id))).toEqual([item, a, { id: 'resp_b', principalId: 'key-b', provider: 'openai#1a2b3c', expiresAt: 1_500 }]);
        expect(await store.storedResponses.find(['resp_a'], 2_000)).toEqual([]);
        expect(await store.storedResponses.find([], 0)).toEqual([]);
        await store.storedResponses.prune(1_500);
        expect(await store.storedResponses.find(['resp_b', 'resp_a'], 0)).toEqual([a]);
      });
    });
  });
}
