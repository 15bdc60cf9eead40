import type { Principal } from '../auth/principal.js';
import { costOf, type PriceTable } from '../billing/price-table.js';
import type { ExchangeRates } from '../billing/money.js';
import type { Admission } from '../limits/admission-control.js';
import type { Usage } from '../spec/openai-chat.js';
import { tokenCounter } from '../spec/token-counter.js';
import type { LedgerRecord } from '../store/relay-store.js';
import type { LedgerWriter } from './ledger-writer.js';
import { publishRequestMetered } from '../observability/relay-events.js';

/** What the server knows of a finished request that reached an upstream. */
export interface FinishedRequest {
  requestId: string;
  principal: Principal;
  model: string;
  provider: string | undefined;
  status: number;
  stream: boolean;
  durationMs: number;
  usage: Usage | undefined;
  /** The prompt, when usage must be counted here (the upstream gave none). */
  promptText: (() => string) | undefined;
  /** What was delivered of a stream whose usage never came (a stream cut short). */
  deliveredText: (() => string) | undefined;
  admission: Admission | undefined;
}

export interface MeterOptions {
  ledger: LedgerWriter;
  prices: PriceTable;
  rates: ExchangeRates;
  onError: (error: unknown, requestId: string) => void;
}

async function usageOf(finished: FinishedRequest): Promise<{ promptTokens: number; completionTokens: number; cachedTokens: number; counted: boolean }> {
  if (finished.usage !== undefined) {
    return {
      promptTokens: finished.usage.prompt_tokens,
      completionTokens: finished.usage.completion_tokens,
      cachedTokens: finished.usage.prompt_tokens_details?.cached_tokens ?? 0,
      counted: false,
    };
  }
  if (finished.deliveredText === undefined && finished.status >= 400) return { promptTokens: 0, completionTokens: 0, cachedTokens: 0, counted: false };
  // No usage from the upstream: count what was sent and what was delivered, so a cut stream is
  // billed for what the client got, never for nothing.
  const count = await tokenCounter();
  return {
    promptTokens: count(finished.promptText?.() ?? ''),
    completionTokens: count(finished.deliveredText?.() ?? ''),
    cachedTokens: 0,
    counted: true,
  };
}

/**
 * The settle step after a request ended: its usage (reported, or counted), the reservation settled
 * with it (or released when nothing was used), and one ledger record queued. Never on the request
 * path: the answer has been sent by the time this runs.
 */
export async function meterRequest(finished: FinishedRequest, options: MeterOptions): Promise<void> {
  try {
    const usage = await usageOf(finished);
    const used = usage.promptTokens + usage.completionTokens > 0;
    let cost = { costMicros: 0, officialCostMicros: 0 };
    let currency = finished.admission?.currency ?? 'USD';
    if (finished.admission !== undefined) {
      if (used) cost = await finished.admission.settle(usage, options.prices.price(finished.model));
      else await finished.admission.release();
    } else {
      const price = options.prices.price(finished.model);
      if (price !== undefined && used) cost = costOf(usage, price, 'USD', options.rates);
      currency = 'USD';
    }
    const record: LedgerRecord = {
      requestId: finished.requestId,
      keyId: finished.principal.id,
      accountId: finished.principal.accountId ?? null,
      model: finished.model,
      provider: finished.provider ?? null,
      promptTokens: usage.promptTokens,
      completionTokens: usage.completionTokens,
      cachedTokens: usage.cachedTokens,
      costMicros: cost.costMicros,
      officialCostMicros: cost.officialCostMicros,
      currency,
      latencyMs: Math.round(finished.durationMs),
      status: finished.status,
      stream: finished.stream,
      createdAt: Date.now(),
    };
    options.ledger.add(record);
    publishRequestMetered({
      model: record.model,
      provider: finished.provider,
      currency,
      costMicros: cost.costMicros,
      officialCostMicros: cost.officialCostMicros,
      promptTokens: usage.promptTokens,
      completionTokens: usage.completionTokens,
    });
  } catch (error) {
    options.onError(error, finished.requestId);
  }
}
