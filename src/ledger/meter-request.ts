import type { Principal } from '../auth/principal.js';
import { costOf, type PriceTable } from '../billing/price-table.js';
import type { Currency, ExchangeRates } from '../billing/money.js';
import type { Admission, SettledCost } from '../limits/admission-control.js';
import type { Usage } from '../spec/openai-chat.js';
import { countEach, type TokenTally } from '../spec/token-counter.js';
import type { LedgerWriter } from './ledger-writer.js';
import { publishRequestMetered } from '../observability/relay-events.js';

/** A prompt with nothing to count (its counts came with the stream's start). */
const noTally: TokenTally = { texts: [], tokens: 0 };

/** What the server knows of a finished request that reached an upstream. */
export interface FinishedRequest {
  requestId: string;
  principal: Principal;
  model: string;
  provider: string | undefined;
  status: number;
  /** The relay's error code when the request failed, also a stream that failed after its first byte (status 200). */
  errorCode: string | undefined;
  stream: boolean;
  durationMs: number;
  usage: Usage | undefined;
  /** Counts a stream reported at its start (the prompt's) when its final usage never came. */
  startUsage?: Usage | undefined;
  /** What counting the prompt adds up, when usage must be counted here (the upstream gave none). */
  promptTally: (() => TokenTally) | undefined;
  /** What was delivered of a stream whose usage never came (a stream cut short). */
  deliveredText: (() => string) | undefined;
  admission: Admission | undefined;
}

export interface MeterOptions {
  ledger: LedgerWriter;
  /**
   * Charges a request metered without a reservation to a budget its key was given while it ran
   * (`AdmissionControl.chargeUnreserved`); the budget period charged, or null for none.
   */
  chargeUnreserved?: (principal: Principal, costUsdMicros: number, requestId: string) => string | null | Promise<string | null>;
  prices: PriceTable;
  rates: ExchangeRates;
  onError: (error: unknown, requestId: string) => void;
}

/** Counts of one request; the cache reads and writes are parts of the prompt (`TokenUsage`). */
interface MeteredUsage {
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
  cacheWriteTokens: number;
  cacheWrite1hTokens: number;
}

const nothingUsed: MeteredUsage = { promptTokens: 0, completionTokens: 0, cachedTokens: 0, cacheWriteTokens: 0, cacheWrite1hTokens: 0 };

/** The counts of a reported usage: the prompt's with its cache reads and writes, and the output's (or `completionTokens`). */
function meteredUsageOf(usage: Usage, completionTokens = usage.completion_tokens): MeteredUsage {
  const details = usage.prompt_tokens_details;
  const metered = {
    promptTokens: usage.prompt_tokens,
    completionTokens,
    cachedTokens: details?.cached_tokens ?? 0,
    cacheWriteTokens: details?.cache_write_tokens ?? 0,
    cacheWrite1hTokens: details?.cache_write_1h_tokens ?? 0,
  };
  // Whatever the price (a free model too): a count no request can have had is no usage to record.
  for (const count of Object.values(metered)) if (!Number.isSafeInteger(count) || count < 0) throw new RangeError(`not a token count: ${String(count)}`);
  return metered;
}
const noCost = { costMicros: 0, officialCostMicros: 0 };

/**
 * The settle step after a request ended: its usage (reported, or counted), the reservation settled
 * with it (or released when nothing was used), and one ledger record queued. Never on the request
 * path: the answer has been sent by the time this runs. Returns a promise only while something is
 * still to be done (a reservation to settle, a tokenizer to load); a request without a reservation
 * and with reported usage is metered at once. It never rejects: failures go to `onError`.
 */
export function meterRequest(finished: FinishedRequest, options: MeterOptions): Promise<void> | undefined {
  try {
    if (finished.usage !== undefined) {
      const usage = finished.usage;
      try {
        return charge(finished, meteredUsageOf(usage), options);
      } catch (error) {
        // Counts that are no whole numbers of tokens, or too large to price exactly (beyond 2^53
        // micro-units), are no usage a request can have had, whatever the model's price: taken as
        // malformed, the request is counted with the tokenizer, as when the upstream reports none,
        // and its reservation is settled with that.
        if (!(error instanceof RangeError)) throw error;
        options.onError(new Error(`the upstream reported a usage that cannot be priced (${JSON.stringify(usage)}); counted with the tokenizer instead`), finished.requestId);
        return countAndCharge({ ...finished, usage: undefined }, options);
      }
    }
    if (finished.deliveredText === undefined && finished.status >= 400) return charge(finished, nothingUsed, options);
    return countAndCharge(finished, options);
  } catch (error) {
    options.onError(error, finished.requestId);
    return undefined;
  }
}

/**
 * No usage from the upstream: count what was sent and what was delivered, so a cut stream is billed
 * for what the client got, never for nothing. The prompt's counts a stream gave at its start are
 * taken as they are, and so is its output count then, when the delivered text counts fewer.
 */
async function countAndCharge(finished: FinishedRequest, options: MeterOptions): Promise<void> {
  try {
    const start = finished.startUsage;
    const prompt = start === undefined ? (finished.promptTally?.() ?? noTally) : noTally;
    // The request is over: its parallel slot is not held while its tokens are counted.
    finished.admission?.leaveParallel?.();
    // One trip to the counting thread: the delivered text first, then the prompt's texts.
    const counts = await countEach([finished.deliveredText?.() ?? '', ...prompt.texts]);
    const delivered = counts[0] ?? 0;
    const usage: MeteredUsage =
      start === undefined
        ? { ...nothingUsed, promptTokens: counts.reduce((sum, count, index) => (index === 0 ? sum : sum + count), prompt.tokens), completionTokens: delivered }
        : meteredUsageOf(start, Math.max(delivered, start.completion_tokens));
    await charge(finished, usage, options);
  } catch (error) {
    options.onError(error, finished.requestId);
  }
}

function charge(finished: FinishedRequest, usage: MeteredUsage, options: MeterOptions): Promise<void> | undefined {
  const used = usage.promptTokens + usage.completionTokens > 0;
  const admission = finished.admission;
  if (admission === undefined) {
    const price = options.prices.price(finished.model);
    const cost = price !== undefined && used ? costOf(usage, price, 'USD', options.rates) : noCost;
    // Before its ledger record: a budget given to the key meanwhile counted the ledger without it.
    const charged = options.chargeUnreserved?.(finished.principal, cost.costMicros, finished.requestId);
    if (charged instanceof Promise) {
      return charged.then(
        (period) => record(finished, usage, { ...cost, budgetPeriod: period }, 'USD', options),
        (error: unknown) => {
          options.onError(error, finished.requestId);
          record(finished, usage, cost, 'USD', options);
        },
      );
    }
    record(finished, usage, charged === undefined ? cost : { ...cost, budgetPeriod: charged }, 'USD', options);
    return undefined;
  }
  const settled = used ? admission.settle(usage, options.prices.price(finished.model)) : admission.release();
  if (!(settled instanceof Promise)) {
    // Settled in memory: no promise, no turn of the microtask queue.
    record(finished, usage, settled ?? noCost, admission.currency, options);
    return undefined;
  }
  return settled.then(
    (cost) => record(finished, usage, cost ?? noCost, admission.currency, options),
    (error: unknown) => options.onError(error, finished.requestId),
  );
}

function record(finished: FinishedRequest, usage: MeteredUsage, cost: SettledCost, currency: Currency, options: MeterOptions): void {
  options.ledger.add({
    requestId: finished.requestId,
    keyId: finished.principal.id,
    accountId: finished.principal.accountId ?? null,
    model: finished.model,
    provider: finished.provider ?? null,
    promptTokens: usage.promptTokens,
    completionTokens: usage.completionTokens,
    cachedTokens: usage.cachedTokens,
    cacheWriteTokens: usage.cacheWriteTokens,
    costMicros: cost.costMicros,
    officialCostMicros: cost.officialCostMicros,
    currency,
    latencyMs: Math.round(finished.durationMs),
    status: finished.status,
    errorCode: finished.errorCode ?? null,
    stream: finished.stream,
    createdAt: Date.now(),
    ...(cost.drawnInMemory === true ? { drawnInMemory: true } : {}),
    ...(cost.budgetPeriod === undefined ? {} : { budgetPeriod: cost.budgetPeriod }),
  });
  publishRequestMetered({
    model: finished.model,
    provider: finished.provider,
    currency,
    costMicros: cost.costMicros,
    officialCostMicros: cost.officialCostMicros,
    promptTokens: usage.promptTokens,
    completionTokens: usage.completionTokens,
  });
}
