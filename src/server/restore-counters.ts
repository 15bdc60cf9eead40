import { convertMicros, currencies, type Currency } from '../billing/money.js';
import { budgetKey, budgetPeriod, creditKey, type BudgetPeriod } from '../limits/admission-control.js';
import type { LimitStore } from '../limits/limit-store.js';
import type { ApiKeyRecord, SpendInCurrency } from '../store/relay-store.js';
import type { RelayServices } from './relay-services.js';

/**
 * Brings the admission counters in line with the store: at start, and whenever the limits store
 * turns out to have lost them (see {@link LimitStore.claimCounters}; checked by {@link watchCounters}).
 *
 * Balances never set in the limits store (a balance of 0 there) are loaded from the database,
 * without the balance changes still waiting to be counted (`CreditChange`), which are then counted
 * under their ids like any other. When this relay claimed the counters (the store was new or had
 * lost its data: counters in memory, at every start), each budget's counter is also raised to this
 * period's spend in the ledger when it holds less: never lowered, so a counter that already holds
 * the spend (another replica's, or requests settled but not yet in the ledger) keeps it. Returns
 * whether the counters were claimed, and how many waiting balance changes were counted and still wait.
 */
export async function restoreCounters(
  services: RelayServices,
  limits: LimitStore,
  accountCurrencies: Map<string, Currency>,
): Promise<{ claimed: boolean; counted: number; waiting: number }> {
  const claimed = await loadAndClaim(services, limits, accountCurrencies);
  return { claimed, ...(await countWaitingCreditChanges(services)) };
}

/**
 * Loads the balances when the store does not hold the counters, then claims it, and the relay
 * whose claim lands (true) raises the budgets; at start, with the counters held, loads only the
 * balances missing. Balances come before the claim: while the mark is absent no balance change
 * counts in the store, so nothing else writes a balance the load then leaves alone, and relays
 * loading together write the same ones (each is the database's balance without the changes still
 * waiting, which neither a new change nor the passing time moves).
 */
async function loadAndClaim(services: RelayServices, limits: LimitStore, accountCurrencies: Map<string, Currency>, { atStart = true } = {}): Promise<boolean> {
  const held = await limits.countersHeld();
  if (held && !atStart) return false;
  await loadBalances(services, limits, accountCurrencies);
  if (held || !(await limits.claimCounters())) return false;
  try {
    // Budgets only by the relay whose claim landed: raising one is not idempotent.
    await raiseBudgets(services, limits);
  } finally {
    // Settles of requests whose reservations were lost with the counters waited for this: they charge now.
    await limits.countersRestored();
  }
  return true;
}

async function loadBalances(services: RelayServices, limits: LimitStore, accountCurrencies: Map<string, Currency>): Promise<void> {
  const now = Date.now();
  for (const { account, waitingMicros } of await services.store.accounts.balancesWithWaitingChanges()) {
    accountCurrencies.set(account.id, account.currency);
    // Only where the limits store holds no balance: one it holds already counts what was drawn since.
    if ((await limits.peek(creditKey(account.id), 'credit', now)) === 0) await services.admission.setCredit(account.id, account.balanceMicros - waitingMicros);
  }
}

async function raiseBudgets(services: RelayServices, limits: LimitStore): Promise<void> {
  const now = Date.now();
  for (const key of await services.store.keys.list()) await raiseBudget(services, limits, key, now);
}

/**
 * Raises a key's budget counter for the current period to the period's spend in the ledger when it
 * holds less (never lowers it), at a restore: the counter holds only what was spent since the
 * loss. Not idempotent: one relay raises a counter at a time.
 */
export async function raiseBudget(services: RelayServices, limits: LimitStore, key: ApiKeyRecord, now: number): Promise<void> {
  if (key.budget === null) return;
  const period = budgetPeriod(key.budget.period, now);
  let spent = 0;
  for (const currency of currencies) spent += convertMicros(await services.store.ledger.spendSince(key.id, period.startsAt, currency), currency, key.budget.currency, services.billing.rates);
  const counterKey = budgetKey(key.id, period.key);
  await addToCounter(limits, `restore:${key.id}:${period.key}:${now}`, counterKey, spent - (await limits.peek(counterKey, 'budget', now)), period, now);
}

/**
 * Counts in the counter of a budget just set or changed (`key.budget`, for the period of `now`)
 * the period's spend the ledger held as the change was made (`spent`, read in its transaction),
 * less what the counter held before the change (`before`): the spend of an earlier budget of the
 * same period, which the ledger holds too. The requests of the key written to the ledger after the
 * change are charged by their replicas (`AdmissionControl.chargeWritten`), and those that end
 * under the new budget at their settle; neither is in `spent`, and what they charged after
 * `before` was read is added to, not raised to.
 */
export async function countBudgetSpend(services: RelayServices, limits: LimitStore, key: ApiKeyRecord, spent: readonly SpendInCurrency[], before: number, now: number): Promise<void> {
  if (key.budget === null) return;
  const period = budgetPeriod(key.budget.period, now);
  let total = 0;
  for (const { currency, micros } of spent) total += convertMicros(micros, currency, key.budget.currency, services.billing.rates);
  await addToCounter(limits, `budget-set:${key.id}:${key.updatedAt}`, budgetKey(key.id, period.key), total - before, period, now);
}

/** Adds `amount`, when positive, to a budget counter, as a reservation settled at once. */
async function addToCounter(limits: LimitStore, reservationId: string, counterKey: string, amount: number, period: BudgetPeriod, now: number): Promise<void> {
  if (amount <= 0) return;
  const counter = { key: counterKey, kind: 'budget' as const, limit: Number.MAX_SAFE_INTEGER, amount, ...(period.endsAt === undefined ? {} : { expiresAt: period.endsAt }) };
  await limits.reserve({ reservationId, counters: [counter], now });
  await limits.settle({ reservationId, actual: { [counterKey]: amount }, now });
}

/**
 * Checks every `intervalMs` that the limits store still holds the counters (a Redis restarted
 * without its data has lost them: balances would read 0 and refuse every prepaid request, budgets
 * would start over) and restores them when it does not. One replica of several restores them.
 * Otherwise it hands the store the balance changes that waited for it (top-ups made while Redis
 * was unreachable).
 */
export function watchCounters(
  services: RelayServices,
  limits: LimitStore,
  accountCurrencies: Map<string, Currency>,
  options: { intervalMs: number; onRestored: () => void; onPendingApplied: (changes: number) => void; onWaiting: (changes: number) => void; onError: (error: unknown) => void },
): () => void {
  let running = false;
  // When the counters were last loaded again, as last seen (undefined: not seen yet).
  let restoredAt: number | undefined;
  const check = async (): Promise<void> => {
    try {
      // The mark is one key: checking it costs a round trip; the counters are loaded only when it is gone.
      if (await loadAndClaim(services, limits, accountCurrencies, { atStart: false })) options.onRestored();
      // Loaded again since the last look (by this relay or another): the reservations of the
      // requests in flight here that were made before were lost with the rest, and are made again
      // (at the first look too: those of a relay that started before the loss; a reservation
      // Redis still holds is not made twice).
      const at = await limits.countersRestoredAt();
      if (at !== undefined && at !== restoredAt) {
        await services.admission.restoreInFlight(at);
        restoredAt = at;
      }
    } catch (error) {
      // Redis does not answer: what waits for it is all there is to report.
      options.onError(error);
      options.onWaiting((await services.store.accounts.creditChanges()).length);
      return;
    }
    // Balance changes that waited for Redis (it was unreachable or had lost its counters, or their relay died) go to it now.
    const { counted, waiting } = await countWaitingCreditChanges(services);
    options.onWaiting(waiting);
    if (counted > 0) options.onPendingApplied(counted);
  };
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    check()
      .catch(options.onError)
      .finally(() => {
        running = false;
      });
  }, options.intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** Hands the limits store the balance changes still waiting in the database, oldest first: how many it took, how many still wait. */
async function countWaitingCreditChanges(services: RelayServices): Promise<{ counted: number; waiting: number }> {
  const changes = await services.store.accounts.creditChanges();
  const counted: string[] = [];
  for (const change of changes) {
    // Under its id: a change another replica counts at the same moment still counts once.
    if (!(await services.admission.countCredit(change.accountId, change.deltaMicros, change.id))) break;
    counted.push(change.id);
  }
  await services.store.accounts.forgetCreditChanges(counted);
  return { counted: counted.length, waiting: changes.length - counted.length };
}
