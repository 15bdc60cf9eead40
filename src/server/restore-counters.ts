import { convertMicros, currencies, type Currency } from '../billing/money.js';
import { budgetKey, budgetPeriod, creditKey } from '../limits/admission-control.js';
import type { LimitStore } from '../limits/limit-store.js';
import { MemoryLimitStore } from '../limits/memory-limit-store.js';
import type { RelayServices } from './relay-services.js';

/**
 * Brings the admission counters in line with the store at start. In memory (one replica) they start
 * empty, so every account's balance is loaded and every budget's spend this period is replayed from
 * the ledger. In Redis they outlive the process: only balances never set there are loaded.
 */
export async function restoreCounters(services: RelayServices, limits: LimitStore, accountCurrencies: Map<string, Currency>): Promise<void> {
  const inMemory = limits instanceof MemoryLimitStore;
  const now = Date.now();
  for (const account of await services.store.accounts.list()) {
    accountCurrencies.set(account.id, account.currency);
    if (inMemory || (await limits.peek(creditKey(account.id), 'credit', now)) === 0) await services.admission.setCredit(account.id, account.balanceMicros);
  }
  if (!inMemory) return;
  for (const key of await services.store.keys.list()) {
    if (key.budget === null) continue;
    const period = budgetPeriod(key.budget.period, now);
    let spent = 0;
    for (const currency of currencies) spent += convertMicros(await services.store.ledger.spendSince(key.id, period.startsAt, currency), currency, key.budget.currency, services.billing.rates);
    if (spent === 0) continue;
    // Replayed as a reservation settled at once: the counter then holds this period's spend.
    const counter = { key: budgetKey(key.id, period.key), kind: 'budget' as const, limit: Number.MAX_SAFE_INTEGER, amount: spent, ...(period.endsAt === undefined ? {} : { expiresAt: period.endsAt }) };
    await limits.reserve({ reservationId: `restore:${key.id}:${period.key}`, counters: [counter], now });
    await limits.settle({ reservationId: `restore:${key.id}:${period.key}`, actual: { [counter.key]: spent }, now });
  }
}
