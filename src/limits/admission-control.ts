import type { Principal } from '../auth/principal.js';
import type { BudgetedRecord } from '../store/relay-store.js';
import { convertMicros, type Currency, type ExchangeRates } from '../billing/money.js';
import { costOf, relayCostMicros, writesCostMore, type CacheWriteLifetime, type ModelPrice, type PriceTable, type TokenUsage } from '../billing/price-table.js';
import { RelayError } from '../spec/relay-error.js';
import { CountersLostError, type CounterReservation, type HeldReservation, type LimitStore, type ReserveResult } from './limit-store.js';
import { LimitsBackendUnavailableError } from './resilient-limit-store.js';

/** Where admission reads a request's prompt. */
export interface PromptSource {
  /** The prompt's size for the estimate, in UTF-8 bytes (3 a token). */
  promptBytes(): number;
  /**
   * Whether the request marks a prompt-cache breakpoint (`cache_control`), and the longest lifetime
   * they ask for: only such a request can have its prompt written to the cache, which some vendors
   * bill above input (an hour's writes above 5 minutes'). Read only when the model's cache writes
   * cost more than input.
   */
  mayWriteCache?(): CacheWriteLifetime | undefined;
}

/** A request's hold on its key's limits and budget, settled with the real usage when it ends. */
export interface Admission {
  /** OpenAI's `x-ratelimit-*` headers for the answer. */
  headers: Record<string, string>;
  /**
   * The output limit the relay must send with the request (per completion), when it set one: an
   * open-ended request (`OpenEndedOutput`) whose worst case the budget or balance could not cover
   * is admitted for the output they can pay for, and must then be sent with that limit.
   */
  readonly outputCap?: number | undefined;
  /** The currency the request is charged in (the account's, else the budget's, else USD). */
  currency: Currency;
  price: ModelPrice | undefined;
  /**
   * Replaces the reservation with the real usage, at the price of the model that answered (a
   * fallback may differ); returns the cost (at once when the limit store answers in memory).
   */
  settle(usage: TokenUsage, servedPrice?: ModelPrice): SettledCost | Promise<SettledCost>;
  /**
   * Gives the reservation back (the request failed before any usage), except its place in the
   * key's requests per minute: a failed request counts there as any other.
   */
  release(): void | Promise<void>;
  /**
   * Frees the request's parallel slot before its settle, for a request that has ended but whose
   * usage is still being counted: the key's next request is not refused for it meanwhile. With
   * limits in memory; a store elsewhere frees it with the settle.
   */
  leaveParallel?(): void;
}

/** What a settled request cost, in the currency it is charged in. */
export interface SettledCost {
  costMicros: number;
  officialCostMicros: number;
  /**
   * The cost was drawn from the account's balance in this replica's memory, while Redis was
   * unreachable (`ReserveResult.inMemory`), not from the balance Redis holds: its ledger record
   * says so (`LedgerRecord.drawnInMemory`), and Redis counts it from the database.
   */
  drawnInMemory?: true;
  /** The budget period whose counter the cost was charged to, or null for none (`LedgerRecord.budgetPeriod`). */
  budgetPeriod?: string | null;
}

/**
 * A request of a metered key that gives no output limit: its money (budget and balance) is reserved
 * for `ceiling` output tokens per completion — the most its upstream may write — instead of the
 * estimate the rate limits count, so that no answer can cost more than was reserved. When the budget
 * or the balance cannot cover that, the request is admitted for the most output they can pay for
 * (at least one token), and the relay sends that limit upstream (`Admission.outputCap`); when they
 * cannot pay even for that, it is refused with their 429, as any request.
 */
export interface OpenEndedOutput {
  ceiling: number;
  /** How many completions may each write `ceiling` tokens (chat's `n`). */
  completions: number;
  /**
   * Whether `ceiling` holds only when sent (some deployment's own limit is unknown: it counts as
   * `billing.defaultMaxTokens`): the admission's `outputCap` is then at most the ceiling.
   */
  sendCeiling: boolean;
}

/**
 * The output of a request that gives no limit (no `max_tokens`): `estimated` tokens
 * (`billing.defaultMaxTokens` per completion), an estimate the TPM window counts at most what the
 * key's TPM leaves after the prompt — lowered to what the window has left, down to none, rather
 * than refused for it. A rate limit is settled with the real usage when the request ends, and the
 * request is not sent with a limit for it (unlike a budget's or balance's, `OpenEndedOutput`).
 */
export interface EstimatedOutput {
  estimated: number;
}

/** The output tokens a reservation counts. */
interface ReservedOutput {
  /** For the money, unless the request is open-ended for it (`OpenEndedOutput`): its max_tokens (per completion, times the completions), or the estimate. */
  tokens: number;
  /** In the TPM window. */
  window: number;
  /** `window` is an estimate (`EstimatedOutput`), to be lowered to what the window has left when it refuses. */
  lowerable: boolean;
}

export interface AdmissionOptions {
  limits: LimitStore;
  prices: PriceTable;
  rates: ExchangeRates;
  /** Currency of an account: from memory once known (accounts never change currency), else looked up once. */
  accountCurrency: (accountId: string) => Currency | undefined | Promise<Currency | undefined>;
  now?: () => number;
  /** How long a request's reservation is renewed at most (default `longestRequestMs`, a day). */
  longestRequestMs?: number;
  /**
   * A key as it is now, when it may have changed since a request was admitted (a stored key): a
   * request is charged to the budget its key has when it ends. Undefined: the key as admitted.
   */
  currentKey?: (principalId: string) => Principal | undefined;
}

/** The budget period a moment falls in, when it started and when it ends (UTC). */
export type BudgetPeriod = Readonly<{ key: string; startsAt: number; endsAt: number | undefined }>;

/** The last period computed of each kind: every request of a metered key asks, and the answer changes once a day or month. */
const currentPeriods = new Map<string, BudgetPeriod>();

export function budgetPeriod(period: 'daily' | 'monthly' | 'total', now: number): BudgetPeriod {
  const known = currentPeriods.get(period);
  if (known !== undefined && now >= known.startsAt && (known.endsAt === undefined || now < known.endsAt)) return known;
  const computed = computeBudgetPeriod(period, now);
  currentPeriods.set(period, computed);
  return computed;
}

function computeBudgetPeriod(period: 'daily' | 'monthly' | 'total', now: number): BudgetPeriod {
  const date = new Date(now);
  if (period === 'daily') {
    const startsAt = Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate());
    return { key: date.toISOString().slice(0, 10), startsAt, endsAt: Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate() + 1) };
  }
  if (period === 'monthly') {
    return { key: date.toISOString().slice(0, 7), startsAt: Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1), endsAt: Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1) };
  }
  return { key: 'total', startsAt: 0, endsAt: undefined };
}

/** The limit counters of one key, named once per key instead of per request. */
interface KeyCounters {
  rpm: string;
  tpm: string;
  parallel: string;
  /** The budget counter of the last period seen (the name changes once a day or month). */
  budgetPeriod: string | undefined;
  budget: string | undefined;
}

const keyCounters = new Map<string, KeyCounters>();

function countersOf(principalId: string): KeyCounters {
  let counters = keyCounters.get(principalId);
  if (counters === undefined) {
    if (keyCounters.size >= 10_000) keyCounters.clear();
    counters = {
      rpm: `rpm:${principalId}`,
      tpm: `tpm:${principalId}`,
      parallel: `parallel:${principalId}`,
      budgetPeriod: undefined,
      budget: undefined,
    };
    keyCounters.set(principalId, counters);
  }
  return counters;
}

/** The counter that holds a key's spend in one budget period. */
export function budgetKey(principalId: string, periodKey: string): string {
  return `budget:${principalId}:${periodKey}`;
}

/** A key is metered when its requests are charged: it has a budget or an account to draw from. */
export function isMetered(principal: Principal): boolean {
  return principal.budget !== undefined || principal.accountId !== undefined;
}

/** How long a request's reservation is renewed at most: a day, beyond any request the relay serves. */
const longestRequestMs = 24 * 60 * 60_000;

/**
 * A place in the list of admissions in flight (`AdmissionControl`): a ring through a sentinel,
 * linked through the admissions themselves, so that taking part allocates nothing.
 */
interface InFlightLink {
  older: InFlightLink | undefined;
  newer: InFlightLink | undefined;
}

/**
 * Exact admission: before a request goes upstream, its worst case (estimated prompt tokens plus
 * max tokens, at the relay's price) is reserved atomically against the key's RPM, TPM and parallel
 * limits, its budget for the period and its account's balance; after it ends the reservation is
 * settled with the real usage, or released on failure. So concurrent requests can overspend a
 * budget by at most one request's reservation, on one replica or many (with Redis).
 *
 * A reservation lives the store's `reservationTtlMs` unless renewed. Requests may last longer (a
 * stream is not cut by the request deadline), so one timer for the whole relay, every quarter of
 * that lifetime, renews the reservations of the requests in flight that were made or last renewed
 * at least half of it ago, all in that one turn (one script call to Redis). A request joins the list
 * it walks when admitted and leaves it when it settles or releases: a few pointers on objects that
 * exist anyway, no allocation and nothing else for a short request. A reservation whose relay died
 * is renewed by no one and expires.
 */
export class AdmissionControl {
  private readonly now: () => number;
  /** The sentinel of the ring of admissions in flight. */
  private readonly inFlight: InFlightLink = { older: undefined, newer: undefined };
  /** How old a reservation is when the timer renews it. */
  private readonly renewAfterMs: number;
  private readonly longestRequestMs: number;
  private readonly renewTimer: NodeJS.Timeout;

  constructor(private readonly options: AdmissionOptions) {
    this.now = options.now ?? Date.now;
    this.inFlight.older = this.inFlight;
    this.inFlight.newer = this.inFlight;
    const lifetime = options.limits.reservationTtlMs;
    this.renewAfterMs = Math.floor(lifetime / 2);
    this.longestRequestMs = options.longestRequestMs ?? longestRequestMs;
    this.renewTimer = setInterval(() => this.renewInFlight(), Math.max(1, Math.floor(lifetime / 4)));
    this.renewTimer.unref();
  }

  /** Stops renewing reservations (the relay is closing). */
  close(): void {
    clearInterval(this.renewTimer);
  }

  /**
   * Renews the reservations of requests in flight that are half their lifetime old, so that none
   * expires while its request runs: each is renewed at the latest a quarter of the lifetime before
   * it would expire, and tried again a quarter later if that failed.
   */
  private renewInFlight(): void {
    const now = this.now();
    const sentinel = this.inFlight;
    for (let link = sentinel.newer; link !== sentinel && link !== undefined; ) {
      const admission = link as HeldAdmission;
      link = link.newer;
      // No request runs this long: one that never ended (a path that neither settled nor released)
      // stops holding its key's parallel slot, as that of a relay that died, instead of for good.
      if (now - admission.admittedAt > this.longestRequestMs) {
        admission.stopRenewing();
        continue;
      }
      // A clock that stepped back renews too (early, which is harmless).
      if (now - admission.renewedAt < this.renewAfterMs && now >= admission.renewedAt) continue;
      admission.renew(now);
    }
  }

  /**
   * Makes the reservations of this relay's requests in flight again, after the limits store lost
   * them with its data and its counters were loaded again at `restoredAt` (from the database,
   * which does not count requests still running): their parallel slots, budgets and balances hold
   * them again until they end, so that other requests are not admitted in their place, and their
   * settles correct them to what they used. Not their place in the RPM and TPM windows, which
   * would count them a second time in a new minute.
   */
  async restoreInFlight(restoredAt: number): Promise<void> {
    const now = this.now();
    const sentinel = this.inFlight;
    const restoring: Promise<void>[] = [];
    for (let link = sentinel.newer; link !== sentinel && link !== undefined; link = link.newer) {
      const admission = link as HeldAdmission;
      if (admission.admittedAt < restoredAt) restoring.push(admission.restore(now));
    }
    await Promise.all(restoring);
  }

  /**
   * Sets an account's balance counter unless it is set already (at start, and for balances the
   * limits store lost), so a late or repeated call never undoes what was drawn since.
   */
  setCredit(accountId: string, balanceMicros: number): Promise<void> {
    return this.options.limits.setCredit(creditKey(accountId), balanceMicros, { onlyIfAbsent: true });
  }

  /**
   * Counts a balance change (an opening balance, a top-up) in the account's counter, once under its
   * id however often it is sent. Resolves to false when the limits store is unreachable, or lost
   * its counters and they are not loaded again yet: the change then waits in the database
   * (`CreditChange`) for the next try.
   */
  async countCredit(accountId: string, deltaMicros: number, changeId: string): Promise<boolean> {
    try {
      await this.options.limits.addCredit(creditKey(accountId), deltaMicros, changeId);
      return true;
    } catch (error) {
      if (error instanceof LimitsBackendUnavailableError || error instanceof CountersLostError) return false;
      throw error;
    }
  }

  /**
   * Reserves the request's worst case (its prompt, read only here, and its output: the max_tokens
   * it gives, or an `EstimatedOutput`), or throws the refusal (429 with `retry-after`, or 400 for an
   * unpriced model). Undefined when the key has no limits at all. Answers at once (no promise) when
   * the limit store answers in memory and the account's currency is known.
   */
  admit(
    principal: Principal,
    model: string,
    prompt: PromptSource,
    output: number | EstimatedOutput,
    requestId: string,
    fallbackModels?: () => readonly string[],
    openEnded?: OpenEndedOutput,
  ): Admission | undefined | Promise<Admission | undefined> {
    const metered = isMetered(principal);
    // Only money needs the whole ceiling: the rate limits count the estimate, as for any request.
    const open = metered ? openEnded : undefined;
    if (!metered && principal.rpm === undefined && principal.tpm === undefined && principal.maxParallel === undefined) return undefined;
    const price = this.options.prices.price(model);
    if (metered && price === undefined) {
      throw new RelayError(
        `The model "${model}" has no price on this relay, and this key is metered, so it cannot be billed. Ask the operator to add it under "prices" in relay.yaml.`,
        { status: 400, type: 'invalid_request_error', code: 'model_not_priced', param: 'model' },
      );
    }
    const now = this.now();
    // Deliberately high — UTF-8 bytes ÷ 3, about one token per CJK character and 1.5× for English —
    // because a reservation may be generous but must not be short; the settle step charges the real usage.
    const promptTokens = Math.ceil(prompt.promptBytes() / 3);
    const maxOutputTokens = typeof output === 'number' ? output : output.estimated;
    // Never more than the key's TPM leaves after the prompt: an estimate of the relay's own must not
    // make a request one that can never be admitted.
    const estimated = typeof output !== 'number' && principal.tpm !== undefined;
    const reserved: ReservedOutput = {
      tokens: maxOutputTokens,
      window: estimated ? Math.min(maxOutputTokens, Math.max(0, principal.tpm! - promptTokens)) : maxOutputTokens,
      lowerable: estimated,
    };
    const accountCurrency = principal.accountId === undefined ? undefined : this.options.accountCurrency(principal.accountId);
    // A request that marks a cache breakpoint may have its whole prompt written to the cache: its
    // worst case prices the prompt as writes where they cost more than input (Claude's), so the
    // reservation is never short of what the upstream's usage will be charged.
    const breakpoints = prompt.mayWriteCache === undefined ? undefined : new CacheBreakpoints(prompt);
    // A fallback is charged at its own price: the worst case is the dearest model that may answer.
    const moneyOutputTokens = open === undefined ? maxOutputTokens : open.ceiling * open.completions;
    const sentCap = open?.sendCeiling === true ? open.ceiling : undefined;
    const worstPrice = metered && price !== undefined && fallbackModels !== undefined ? this.dearest(price, fallbackModels(), promptTokens, moneyOutputTokens, breakpoints) : price;
    const mayWriteCache = worstPrice === undefined ? undefined : breakpoints?.matter(worstPrice);
    if (accountCurrency instanceof Promise) {
      return accountCurrency.then((currency) => this.reserve(principal, price, worstPrice, mayWriteCache, promptTokens, reserved, requestId, now, currency ?? principal.budget?.currency ?? 'USD', open, sentCap));
    }
    return this.reserve(principal, price, worstPrice, mayWriteCache, promptTokens, reserved, requestId, now, accountCurrency ?? principal.budget?.currency ?? 'USD', open, sentCap);
  }

  /**
   * Admits a request that uses no tokens and costs nothing (a stored response fetched from its
   * upstream): it takes its place in the key's requests per minute and a parallel slot, or is refused
   * when either is full; no TPM, budget or balance is asked. Undefined when the key has neither limit.
   */
  admitFree(principal: Principal, requestId: string): Admission | undefined | Promise<Admission | undefined> {
    if (principal.rpm === undefined && principal.maxParallel === undefined) return undefined;
    const counted: Principal = { ...principal, tpm: undefined, budget: undefined, accountId: undefined };
    return this.reserve(counted, undefined, undefined, undefined, 0, noOutput, requestId, this.now(), 'USD');
  }

  /**
   * Charges a request admitted without a reservation (its key had no limit then) to the budget its
   * key has now, if it has one: one set while the request ran, which counted the ledger's spend of
   * its period without this request (its ledger record is written once this is done). The budget
   * period charged (`LedgerRecord.budgetPeriod`), or null for none.
   */
  chargeUnreserved(principal: Principal, costUsdMicros: number, requestId: string): string | null | Promise<string | null> {
    const budget = this.options.currentKey?.(principal.id)?.budget;
    if (budget === undefined) return null;
    const now = this.now();
    const period = budgetPeriod(budget.period, now);
    const amount = costUsdMicros === 0 ? 0 : convertMicros(costUsdMicros, 'USD', budget.currency, this.options.rates);
    if (amount === 0) return period.key;
    const added = addToBudget(this.options.limits, `${requestId}:${principal.id}:${period.key}`, budgetKey(principal.id, period.key), amount, period, now);
    return added instanceof Promise ? added.then(() => period.key) : period.key;
  }

  /**
   * Charges requests whose ledger records were just written under a budget of their key that they
   * were not charged to when they ended (`LedgerRecord.budgetPeriod`): their replica did not know
   * it yet. The change that set it read the ledger without them (the database orders the two:
   * `LedgerStore.insertBatch`), so each is counted once, by the change's read or here. A period
   * that has ended is left alone, as at a settle.
   */
  async chargeWritten(records: readonly BudgetedRecord[]): Promise<void> {
    const now = this.now();
    const charges: Array<void | Promise<void>> = [];
    for (const { record, budget } of records) {
      if (record.keyId === null || record.costMicros === 0) continue;
      const period = budgetPeriod(budget.period, record.createdAt);
      if (record.budgetPeriod === period.key || (period.endsAt !== undefined && period.endsAt <= now)) continue;
      const amount = convertMicros(record.costMicros, record.currency, budget.currency, this.options.rates);
      if (amount === 0) continue;
      charges.push(addToBudget(this.options.limits, `${record.requestId}:${record.keyId}:written:${period.key}`, budgetKey(record.keyId, period.key), amount, period, now));
    }
    await Promise.all(charges);
  }

  /** Of a model's price and those of the priced models it may fall back to, the one that makes this request's worst case dearest. */
  private dearest(price: ModelPrice, fallbackModels: readonly string[], promptTokens: number, maxOutputTokens: number, breakpoints: CacheBreakpoints | undefined): ModelPrice {
    let dearest = price;
    let most: number | undefined;
    for (const model of fallbackModels) {
      const other = this.options.prices.price(model);
      if (other === undefined || other === dearest) continue;
      most ??= relayCostMicros(promptTokens, maxOutputTokens, dearest, breakpoints?.matter(dearest));
      const cost = relayCostMicros(promptTokens, maxOutputTokens, other, breakpoints?.matter(other));
      if (cost > most) {
        dearest = other;
        most = cost;
      }
    }
    return dearest;
  }

  private reserve(
    principal: Principal,
    price: ModelPrice | undefined,
    worstPrice: ModelPrice | undefined,
    mayWriteCache: CacheWriteLifetime | undefined,
    promptTokens: number,
    output: ReservedOutput,
    requestId: string,
    now: number,
    currency: Currency,
    open?: OpenEndedOutput,
    outputCap?: number,
  ): HeldAdmission | Promise<HeldAdmission> {
    const rates = this.options.rates;
    // A request admitted for less output than the estimate is counted for that in the TPM window too.
    const tpmOutputTokens = open === undefined || outputCap === undefined ? output.window : Math.min(output.window, open.ceiling * open.completions);
    // A worst case beyond what a number holds exactly (a max_tokens of 2^53) is held as the largest
    // one it does: more than any limit, so the request is refused with its 429, not failed with a 500.
    const worstTokens = Math.min(promptTokens + tpmOutputTokens, Number.MAX_SAFE_INTEGER);
    const moneyOutputTokens = open === undefined ? output.tokens : open.ceiling * open.completions;
    const worstUsd = worstPrice === undefined ? 0 : relayCostMicros(promptTokens, Math.min(moneyOutputTokens, Number.MAX_SAFE_INTEGER), worstPrice, mayWriteCache);
    const names = countersOf(principal.id);
    const counters: CounterReservation[] = [];
    if (principal.rpm !== undefined) counters.push({ key: names.rpm, kind: 'window', limit: principal.rpm, amount: 1 });
    // A request that can use no tokens (a moderation) is not held to the TPM window: a window
    // already over its limit would refuse it for nothing.
    if (principal.tpm !== undefined && worstTokens > 0) counters.push({ key: names.tpm, kind: 'window', limit: principal.tpm, amount: worstTokens });
    if (principal.maxParallel !== undefined) counters.push({ key: names.parallel, kind: 'concurrent', limit: principal.maxParallel, amount: 1 });
    const budget = principal.budget;
    let budgetCounter: string | undefined;
    if (budget !== undefined) {
      const period = budgetPeriod(budget.period, now);
      const endsAt = period.endsAt;
      if (names.budgetPeriod !== period.key) {
        names.budgetPeriod = period.key;
        names.budget = budgetKey(principal.id, period.key);
      }
      budgetCounter = names.budget as string;
      counters.push({
        key: budgetCounter,
        kind: 'budget',
        limit: budget.amountMicros,
        amount: worstIn(worstUsd, budget.currency, rates),
        expiresAt: endsAt,
      });
    }
    if (principal.accountId !== undefined) {
      counters.push({ key: creditKey(principal.accountId), kind: 'credit', limit: 0, amount: worstIn(worstUsd, currency, rates) });
    }
    const limits = this.options.limits;
    // A reservation the store hands back is never looked up by id: the request id names it.
    const reservationId = limits.reserveHeld === undefined ? `${requestId}:${principal.id}` : requestId;
    const request = { reservationId, counters, now };
    if (limits.reserveHeld !== undefined) {
      // In memory: the reservation comes back to be settled through its handle.
      const reservation = limits.reserveHeld(request);
      const result = reservation.result;
      if (!result.ok) return this.reserveLess(result, principal, price, worstPrice, mayWriteCache, promptTokens, output, requestId, now, currency, open, outputCap);
      return new HeldAdmission(limits, rates, principal, names, budgetCounter, reservationId, reservation, counters, currency, price, rateLimitHeaders(principal, names, result.remaining), this.inFlight, now, this.options.currentKey, outputCap);
    }
    return limits.reserve(request).then((result) => {
      if (!result.ok) return this.reserveLess(result, principal, price, worstPrice, mayWriteCache, promptTokens, output, requestId, now, currency, open, outputCap);
      const admission = new HeldAdmission(limits, rates, principal, names, budgetCounter, reservationId, undefined, counters, currency, price, rateLimitHeaders(principal, names, result.remaining), this.inFlight, now, this.options.currentKey, outputCap);
      if (result.inMemory === true && principal.accountId !== undefined) admission.drawnInMemory = true;
      return admission;
    });
  }

  /**
   * After a refusal: a request without an output limit refused by the TPM window is reserved again
   * with its output estimate lowered to what the window has left after its prompt (down to none);
   * an open-ended request refused by the budget or the balance is reserved again for the output
   * they can pay for (and sent with that limit); any other refusal is thrown.
   */
  private reserveLess(
    result: Extract<ReserveResult, { ok: false }>,
    principal: Principal,
    price: ModelPrice | undefined,
    worstPrice: ModelPrice | undefined,
    mayWriteCache: CacheWriteLifetime | undefined,
    promptTokens: number,
    output: ReservedOutput,
    requestId: string,
    now: number,
    currency: Currency,
    open: OpenEndedOutput | undefined,
    outputCap: number | undefined,
  ): HeldAdmission | Promise<HeldAdmission> {
    if (output.lowerable && output.window > 0 && result.counter === countersOf(principal.id).tpm) {
      // Strictly less each time: under concurrent requests (Redis) it may take another turn, and ends at none.
      const window = Math.max(0, Math.min(output.window - 1, result.remaining - promptTokens));
      return this.reserve(principal, price, worstPrice, mayWriteCache, promptTokens, { ...output, window }, requestId, now, currency, open, outputCap);
    }
    const affordable = open === undefined || worstPrice === undefined ? undefined : this.affordableOutput(result, principal, currency, promptTokens, worstPrice, mayWriteCache, open);
    if (affordable === undefined) throw refusal(open === undefined || worstPrice === undefined ? result : this.untilNextPeriod(result, principal, promptTokens, worstPrice, mayWriteCache, open, now), principal, output.lowerable);
    return this.reserve(principal, price, worstPrice, mayWriteCache, promptTokens, output, requestId, now, currency, { ceiling: affordable, completions: open!.completions, sendCeiling: true }, affordable);
  }

  /**
   * A budget's refusal of an open-ended request that not even one output token fits now, with the
   * time to the budget's next period: the store says that waiting will not help (the worst case it
   * was asked for, the model's whole output limit, is more than the whole budget), but the next
   * period admits the request for the output the budget then pays for. Unchanged when waiting does
   * not help indeed: a budget that never starts over (`total`), or whose whole amount cannot pay for
   * the prompt and one output token.
   */
  private untilNextPeriod(
    result: Extract<ReserveResult, { ok: false }>,
    principal: Principal,
    promptTokens: number,
    price: ModelPrice,
    mayWriteCache: CacheWriteLifetime | undefined,
    open: OpenEndedOutput,
    now: number,
  ): Extract<ReserveResult, { ok: false }> {
    const budget = principal.budget;
    if (result.kind !== 'budget' || result.retryAfterMs > 0 || result.counter === 'limits-backend' || budget === undefined) return result;
    const endsAt = budgetPeriod(budget.period, now).endsAt;
    if (endsAt === undefined || worstIn(relayCostMicros(promptTokens, open.completions, price, mayWriteCache), budget.currency, this.options.rates) > result.limit) return result;
    return { ...result, retryAfterMs: Math.max(1, endsAt - now) };
  }

  /**
   * The most output tokens per completion (fewer than the open-ended request was refused for, at
   * least one) whose worst case fits what the refusing budget or balance had left; undefined when
   * the refusal is another limit's, or not even one token fits.
   */
  private affordableOutput(
    result: Extract<ReserveResult, { ok: false }>,
    principal: Principal,
    currency: Currency,
    promptTokens: number,
    price: ModelPrice,
    mayWriteCache: CacheWriteLifetime | undefined,
    open: OpenEndedOutput,
  ): number | undefined {
    if ((result.kind !== 'budget' && result.kind !== 'credit') || result.counter === 'limits-backend') return undefined;
    const counterCurrency = result.kind === 'budget' ? (principal.budget?.currency ?? currency) : currency;
    const fits = (tokens: number) => worstIn(relayCostMicros(promptTokens, tokens * open.completions, price, mayWriteCache), counterCurrency, this.options.rates) <= result.remaining;
    // A refusal that fewer tokens cannot answer: not even one fits, or the whole ceiling would have (the refusal was not about this amount).
    if (open.ceiling <= 1 || !fits(1) || fits(open.ceiling)) return undefined;
    // The largest count that fits, by bisection: the cost only grows with the tokens.
    let low = 1;
    let high = open.ceiling - 1;
    while (low < high) {
      const middle = Math.ceil((low + high) / 2);
      if (fits(middle)) low = middle;
      else high = middle - 1;
    }
    return low;
  }
}

/**
 * Whether a request's cache breakpoints matter to a price, and for which lifetime: looked for once,
 * and only for a price whose cache writes cost more than input.
 */
class CacheBreakpoints {
  private looked = false;
  private lifetime: CacheWriteLifetime | undefined;

  constructor(private readonly prompt: PromptSource) {}

  matter(price: ModelPrice): CacheWriteLifetime | undefined {
    if (!writesCostMore(price)) return undefined;
    if (!this.looked) {
      this.looked = true;
      this.lifetime = this.prompt.mayWriteCache?.();
    }
    return this.lifetime !== undefined && writesCostMore(price, this.lifetime) ? this.lifetime : undefined;
  }
}

/**
 * A live reservation: settled or released once, whichever comes first. In the ring of admissions in
 * flight from its construction until then, and renewed while there.
 */
class HeldAdmission implements Admission, InFlightLink {
  private done = false;
  /** The reservation being made again (`restore`), which a settle waits for. */
  private restoring: Promise<void> | undefined;
  older: InFlightLink | undefined;
  newer: InFlightLink | undefined;
  /** When it was admitted (epoch ms): renewed for the admission's `longestRequestMs` at most. */
  readonly admittedAt: number;
  /** Its balance was reserved in memory, not in Redis (`SettledCost.drawnInMemory`). */
  drawnInMemory = false;
  /** The budget period of `budgetCounter`, the counter its reservation was charged to. */
  private readonly reservedPeriod: string | undefined;

  constructor(
    private readonly limits: LimitStore,
    private readonly rates: ExchangeRates,
    private readonly principal: Principal,
    private readonly names: KeyCounters,
    /** The budget counter the reservation was charged to (its period's), if the key has a budget. */
    private readonly budgetCounter: string | undefined,
    private readonly reservationId: string,
    /** The reservation itself, when the store handed it over (`reserveHeld`); else it is settled by id. */
    private readonly held: HeldReservation | undefined,
    /** What was reserved: charged again by a store that lost the reservation with its data. */
    private readonly counters: readonly CounterReservation[],
    readonly currency: Currency,
    readonly price: ModelPrice | undefined,
    readonly headers: Record<string, string>,
    inFlight: InFlightLink,
    /** When the reservation was made or last renewed (epoch ms). */
    public renewedAt: number,
    /** The key as it is now (`AdmissionOptions.currentKey`). */
    private readonly currentKey: ((principalId: string) => Principal | undefined) | undefined,
    readonly outputCap: number | undefined,
  ) {
    this.admittedAt = renewedAt;
    // The key's counters name the period of the budget counter just reserved.
    this.reservedPeriod = budgetCounter === undefined ? undefined : names.budgetPeriod;
    const newest = inFlight.older as InFlightLink;
    this.older = newest;
    this.newer = inFlight;
    newest.newer = this;
    inFlight.older = this;
  }

  /** Makes the reservation again in a limits store that lost it (`AdmissionControl.restoreInFlight`). */
  async restore(now: number): Promise<void> {
    // A reservation handed over by the store lives in this process, and is never lost without it.
    if (this.held !== undefined || this.done) return;
    const counters = this.counters.filter((counter) => counter.kind !== 'window' && (counter.expiresAt === undefined || counter.expiresAt > now));
    if (counters.length === 0) return;
    // A settle made meanwhile waits for it: the store runs settles before the reserves sent with them.
    const restoring = this.limits.reserve({ reservationId: this.reservationId, counters, now, restored: true }).then(
      () => {
        this.renewedAt = now;
      },
      ignoreFailure,
    );
    this.restoring = restoring;
    await restoring;
    if (this.restoring === restoring) this.restoring = undefined;
  }

  /** Leaves the ring of admissions in flight unsettled: the reservation expires as that of a relay that died. */
  stopRenewing(): void {
    this.leave();
  }

  /** Leaves the ring of admissions in flight: the request has ended, and its reservation is renewed no more. */
  private leave(): void {
    const { older, newer } = this;
    if (older === undefined || newer === undefined) return;
    older.newer = newer;
    newer.older = older;
    this.older = undefined;
    this.newer = undefined;
  }

  /**
   * Extends the reservation by its lifetime from `now`: its request is still in flight. Not renewed
   * (the store is unreachable, say), it is tried again at the timer's next turn, a quarter of the
   * lifetime later; a reservation that expires all the same is still corrected by its settle.
   */
  renew(now: number): void {
    const limits = this.limits;
    if (this.held !== undefined && limits.renewHeld !== undefined) {
      if (limits.renewHeld(this.held, now)) this.renewedAt = now;
      return;
    }
    limits.renew(this.reservationId, now).then((renewed) => {
      if (renewed) this.renewedAt = now;
    }, ignoreFailure);
  }

  leaveParallel(): void {
    if (!this.done && this.held !== undefined && this.limits.releaseConcurrentHeld !== undefined) this.limits.releaseConcurrentHeld(this.held, Date.now());
  }

  settle(usage: TokenUsage, servedPrice?: ModelPrice): SettledCost | Promise<SettledCost> {
    if (this.done) return { costMicros: 0, officialCostMicros: 0 };
    // The request has ended: even if its usage cannot be priced below, it is not renewed any more
    // (an unsettled reservation expires as that of a relay that died).
    this.leave();
    const { principal, names, rates, currency } = this;
    const charged = servedPrice ?? this.price;
    const costUsd = charged === undefined ? { costMicros: 0, officialCostMicros: 0 } : costOf(usage, charged, 'USD', rates);
    const actual: Record<string, number> = {};
    if (principal.rpm !== undefined) actual[names.rpm] = 1;
    if (principal.tpm !== undefined) actual[names.tpm] = usage.promptTokens + usage.completionTokens;
    const budgetSpend = principal.budget === undefined ? 0 : convertMicros(costUsd.costMicros, 'USD', principal.budget.currency, rates);
    if (this.budgetCounter !== undefined) actual[this.budgetCounter] = budgetSpend;
    if (principal.accountId !== undefined) actual[creditKey(principal.accountId)] = convertMicros(costUsd.costMicros, 'USD', currency, rates);
    const cost: SettledCost = {
      costMicros: convertMicros(costUsd.costMicros, 'USD', currency, rates),
      officialCostMicros: convertMicros(costUsd.officialCostMicros, 'USD', currency, rates),
    };
    if (this.drawnInMemory) cost.drawnInMemory = true;
    // Only once the cost is known: usage that cannot be priced throws above and leaves the
    // reservation open, to be settled with a count the caller can price.
    this.done = true;
    const now = Date.now();
    // The budget the request ends under, when its reservation was not charged to that one's counter.
    const elsewhere = this.budgetElsewhere(costUsd.costMicros, now);
    cost.budgetPeriod = elsewhere?.period.key ?? this.reservedPeriod ?? null;
    if (this.held !== undefined && this.limits.settleHeld !== undefined) {
      this.limits.settleHeld(this.held, actual, now);
      if (elsewhere !== undefined) void this.chargeBudget(elsewhere, now);
      return cost;
    }
    // With what was reserved: a Redis that lost the reservation (restarted empty) still charges the budget and balance.
    const settle = { reservationId: this.reservationId, actual, now, reserved: { at: this.admittedAt, counters: this.counters } };
    const settled = this.restoring === undefined ? this.limits.settle(settle) : this.restoring.then(() => this.limits.settle(settle));
    return (elsewhere === undefined ? settled : settled.then(() => this.chargeBudget(elsewhere, now))).then(() => cost);
  }

  /**
   * The budget counter a request that ends now is charged to, and the amount, when it is not the
   * one its reservation was charged to: the request was admitted in a budget period that has ended
   * since, or its key's budget was set or changed (at any replica) while it ran. The ledger dates a
   * request when it ends, and a budget set or changed (or a restart) counts the ledger's spend of
   * its period, which does not hold the requests still in flight: the live counter counts them
   * when they end (a request is never counted in two periods, nor in none).
   */
  private budgetElsewhere(costUsdMicros: number, now: number): { key: string; amount: number; period: BudgetPeriod } | undefined {
    const budget = (this.currentKey?.(this.principal.id) ?? this.principal).budget;
    if (budget === undefined) return undefined;
    const period = budgetPeriod(budget.period, now);
    const names = this.names;
    if (names.budgetPeriod !== period.key) {
      names.budgetPeriod = period.key;
      names.budget = budgetKey(this.principal.id, period.key);
    }
    const key = names.budget as string;
    if (key === this.budgetCounter) return undefined;
    const amount = convertMicros(costUsdMicros, 'USD', budget.currency, this.rates);
    return amount > 0 ? { key, amount, period } : undefined;
  }

  /** Adds a request's cost to a budget counter its reservation did not draw on (`budgetElsewhere`). */
  private chargeBudget({ key, amount, period }: { key: string; amount: number; period: BudgetPeriod }, now: number): void | Promise<void> {
    return addToBudget(this.limits, `${this.reservationId}:${period.key}`, key, amount, period, now);
  }

  release(): void | Promise<void> {
    if (this.done) return;
    this.done = true;
    this.leave();
    const { principal, names, limits } = this;
    if (principal.rpm !== undefined) {
      // As at OpenAI, a request that failed still counts in its key's requests per minute (else a
      // key could send the upstream any number of failing or abandoned requests): it is settled with
      // one request and nothing else used, which frees its parallel slot and gives its tokens, budget
      // and balance back.
      const actual: Record<string, number> = { [names.rpm]: 1 };
      if (principal.tpm !== undefined) actual[names.tpm] = 0;
      if (this.budgetCounter !== undefined) actual[this.budgetCounter] = 0;
      if (principal.accountId !== undefined) actual[creditKey(principal.accountId)] = 0;
      if (this.held !== undefined && limits.settleHeld !== undefined) limits.settleHeld(this.held, actual, Date.now());
      else if (this.restoring !== undefined) return this.restoring.then(() => limits.settle({ reservationId: this.reservationId, actual, now: Date.now() }));
      else return limits.settle({ reservationId: this.reservationId, actual, now: Date.now() });
      return;
    }
    if (this.held !== undefined && limits.releaseHeld !== undefined) limits.releaseHeld(this.held, Date.now());
    else if (this.restoring !== undefined) return this.restoring.then(() => limits.release(this.reservationId, Date.now()));
    else return limits.release(this.reservationId, Date.now());
  }
}

/** Adds `amount` to a budget counter, as a reservation of it settled at once. */
function addToBudget(limits: LimitStore, reservationId: string, key: string, amount: number, period: BudgetPeriod, now: number): void | Promise<void> {
  const request = { reservationId, counters: [{ key, kind: 'budget' as const, limit: Number.MAX_SAFE_INTEGER, amount, expiresAt: period.endsAt }], now };
  if (limits.reserveHeld !== undefined && limits.settleHeld !== undefined) {
    limits.settleHeld(limits.reserveHeld(request), { [key]: amount }, now);
    return;
  }
  return limits.reserve(request).then(() => limits.settle({ reservationId, actual: { [key]: amount }, now }));
}

/** What a request that writes nothing (`admitFree`) reserves of output. */
const noOutput: ReservedOutput = { tokens: 0, window: 0, lowerable: false };

/** A renewal that failed changes nothing; the next one is tried a turn of the timer later. */
function ignoreFailure(): void {}

/** A worst case in micro-USD in another currency, held at `Number.MAX_SAFE_INTEGER` when it converts to more. */
function worstIn(micros: number, currency: Currency, rates: ExchangeRates): number {
  if (micros === Number.MAX_SAFE_INTEGER) return micros;
  try {
    return convertMicros(micros, 'USD', currency, rates);
  } catch (error) {
    if (error instanceof RangeError) return Number.MAX_SAFE_INTEGER;
    throw error;
  }
}

/** The account balances that requests draw from live in the limit store, under this key. */
export function creditKey(accountId: string): string {
  return `credit:${accountId}`;
}

/** OpenAI's rate limit headers, from what the reservation left. */
function rateLimitHeaders(principal: Principal, names: KeyCounters, remaining: Record<string, number>): Record<string, string> {
  const headers: Record<string, string> = {};
  if (principal.rpm !== undefined) {
    headers['x-ratelimit-limit-requests'] = String(principal.rpm);
    headers['x-ratelimit-remaining-requests'] = String(Math.max(0, remaining[names.rpm] ?? 0));
  }
  if (principal.tpm !== undefined && remaining[names.tpm] !== undefined) {
    headers['x-ratelimit-limit-tokens'] = String(principal.tpm);
    headers['x-ratelimit-remaining-tokens'] = String(Math.max(0, remaining[names.tpm] ?? 0));
  }
  return headers;
}

/** `estimatedOutput`: the request gives no output limit (its TPM count was lowered to none before a refusal of the window). */
function refusal(result: Extract<ReserveResult, { ok: false }>, principal: Principal, estimatedOutput = false): RelayError {
  const seconds = Math.max(1, Math.ceil(result.retryAfterMs / 1000));
  const retry: Record<string, string> = result.retryAfterMs > 0 ? { 'retry-after': String(seconds), 'retry-after-ms': String(Math.max(1, Math.ceil(result.retryAfterMs))) } : {};
  const key = `key "${principal.name}"`;
  if (result.counter === 'limits-backend') {
    return new RelayError('The relay cannot check rate limits right now (its limits backend is unreachable) and refuses rather than run unlimited. Retry shortly.', {
      status: 503,
      type: 'server_error',
      code: 'limits_unavailable',
      headers: { 'retry-after': String(seconds) },
    });
  }
  if (result.counter.startsWith('rpm:')) {
    return new RelayError(`Rate limit reached for requests per minute on ${key}: limit ${result.limit}. Retry after ${seconds} s.`, {
      status: 429,
      type: 'rate_limit_error',
      code: 'rate_limit_exceeded',
      headers: { ...retry, 'x-ratelimit-limit-requests': String(result.limit), 'x-ratelimit-remaining-requests': '0' },
    });
  }
  if (result.counter.startsWith('tpm:')) {
    // No retry time: this request's worst case is above the limit itself, and waiting cannot help.
    const advice = estimatedOutput
      ? result.retryAfterMs > 0
        ? `Retry after ${seconds} s.`
        : `Its prompt alone is more than the whole limit, so it can never be admitted: shorten the prompt.`
      : result.retryAfterMs > 0
        ? `Lower max_tokens or retry after ${seconds} s.`
        : `Its worst case is more than the whole limit, so it can never be admitted: lower max_tokens or shorten the prompt.`;
    const needs = estimatedOutput ? 'its prompt estimate' : 'prompt estimate plus max_tokens';
    return new RelayError(
      `Rate limit reached for tokens per minute on ${key}: limit ${result.limit}, ${Math.max(0, result.remaining)} left; this request may use more (${needs}). ${advice}`,
      {
        status: 429,
        type: 'rate_limit_error',
        code: 'rate_limit_exceeded',
        // The SDKs retry every 429 unless told not to: only a request that a wait could admit is worth it.
        headers: { ...(result.retryAfterMs > 0 ? retry : { 'x-should-retry': 'false' }), 'x-ratelimit-limit-tokens': String(result.limit), 'x-ratelimit-remaining-tokens': String(Math.max(0, result.remaining)) } },
    );
  }
  if (result.counter.startsWith('parallel:')) {
    return new RelayError(`Too many requests in flight on ${key}: limit ${result.limit} at a time. Retry when one finishes.`, {
      status: 429,
      type: 'rate_limit_error',
      code: 'parallel_limit_exceeded',
      headers: retry,
    });
  }
  if (result.counter.startsWith('budget:')) {
    const advice =
      result.retryAfterMs > 0
        ? 'Raise the budget or wait for the next period.'
        : 'Waiting will not help: the budget never starts over, or all of it is less than this request\'s worst case. Raise the budget, or lower max_tokens.';
    return new RelayError(`The budget of ${key} for this period is spent (or too little is left for this request's worst case). ${advice}`, {
      status: 429,
      type: 'insufficient_quota',
      code: 'budget_exceeded',
      headers: result.retryAfterMs > 0 ? retry : { 'x-should-retry': 'false' },
    });
  }
  // A balance does not refill with time: only a top-up admits the request, so the SDKs are told not to retry.
  return new RelayError(`The account of ${key} has too little balance left for this request's worst case. Top up the account.`, {
    status: 429,
    type: 'insufficient_quota',
    code: 'insufficient_balance',
    headers: { 'x-should-retry': 'false' },
  });
}
