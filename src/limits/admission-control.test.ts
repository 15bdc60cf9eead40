import { describe, expect, it } from 'vitest';
import type { Principal } from '../auth/principal.js';
import { defaultExchangeRates } from '../billing/money.js';
import { PriceTable } from '../billing/price-table.js';
import { AdmissionControl, type OpenEndedOutput } from './admission-control.js';
import type { LimitStore, ReserveRequest, ReserveResult } from './limit-store.js';
import { MemoryLimitStore } from './memory-limit-store.js';

/** $1 per 1M prompt tokens and $10 per 1M output tokens; `free` costs nothing. */
const prices = new PriceTable({ paid: { input: 1, output: 10 }, free: { input: 0, output: 0 } }, {});
const budgeted: Principal = { id: 'key-1', name: 'budgeted', isMaster: false, models: undefined, budget: { amountMicros: 100_000, currency: 'USD', period: 'total' } };
const prompt = { promptBytes: () => 300 };
const openEnded: OpenEndedOutput = { ceiling: 32_768, completions: 1, sendCeiling: false };

function admission(limits: LimitStore): AdmissionControl {
  return new AdmissionControl({ limits, prices, rates: defaultExchangeRates, accountCurrency: () => 'USD' });
}

/** A store that answers every reserve with `result`, counting the calls. */
function refusing(result: ReserveResult): LimitStore & { calls: number } {
  const store = {
    calls: 0,
    reservationTtlMs: 600_000,
    reserve: async (_request: ReserveRequest) => {
      store.calls++;
      return result;
    },
  };
  return store as unknown as LimitStore & { calls: number };
}

describe('AdmissionControl, a request without an output limit on a metered key', () => {
  it('reserves the ceiling when the budget covers it, and sends no limit', async () => {
    const control = admission(new MemoryLimitStore());
    const rich: Principal = { ...budgeted, id: 'key-2', budget: { amountMicros: 1_000_000, currency: 'USD', period: 'total' } };
    // Each reserves 100 prompt tokens and 32768 output tokens: $0.32778; three fit in $1.
    for (const id of ['r1', 'r2', 'r3']) expect((await control.admit(rich, 'paid', prompt, 4096, id, undefined, openEnded))?.outputCap).toBeUndefined();
    const fourth = await control.admit(rich, 'paid', prompt, 4096, 'r4', undefined, openEnded);
    expect(fourth?.outputCap).toBe(Math.floor((1_000_000 - 3 * 327_780 - 100) / 10));
    control.close();
  });

  it('is admitted for the output the rest of the budget pays for, and told to send that limit', async () => {
    const control = admission(new MemoryLimitStore());
    // $0.10: 100 prompt tokens ($0.0001) and up to 9990 output tokens at $10 per 1M.
    const held = await control.admit(budgeted, 'paid', prompt, 4096, 'r1', undefined, openEnded);
    expect(held?.outputCap).toBe(9990);
    // Nothing is left for a second one.
    expect(() => control.admit(budgeted, 'paid', prompt, 4096, 'r2', undefined, openEnded)).toThrow(/budget/);
    control.close();
  });

  it('is refused at once, never tried again smaller, when fewer tokens would not help', async () => {
    // The limits backend is away (fail-closed), and the model costs nothing: no count of tokens fits better.
    const away = refusing({ ok: false, counter: 'limits-backend', kind: 'budget', limit: 0, remaining: 0, retryAfterMs: 1000 });
    const control = admission(away);
    await expect(control.admit(budgeted, 'free', prompt, 4096, 'r1', undefined, openEnded)).rejects.toMatchObject({ status: 503 });
    expect(away.calls).toBe(1);
    // A budget that a free request cannot fit (it is overspent already).
    const overspent = refusing({ ok: false, counter: 'budget:key-1:total', kind: 'budget', limit: 100_000, remaining: -5, retryAfterMs: 0 });
    const other = admission(overspent);
    await expect(other.admit(budgeted, 'free', prompt, 4096, 'r2', undefined, openEnded)).rejects.toMatchObject({ status: 429 });
    expect(overspent.calls).toBe(1);
    control.close();
    other.close();
  });
});

describe('AdmissionControl, a request without an output limit on a key with a TPM limit', () => {
  const smallTenant: Principal = { id: 'key-tpm', name: 'small-tenant', isMaster: false, models: undefined, tpm: 2_000 };
  const estimated = { estimated: 4096 };

  it('counts its prompt and at most what the TPM leaves after it, then what the window has left, and sends no limit', async () => {
    const control = admission(new MemoryLimitStore());
    // 100 prompt tokens and the estimate lowered from 4096 to the 1900 the limit leaves: admitted, the window full.
    const first = (await control.admit(smallTenant, 'free', prompt, estimated, 'r1'))!;
    expect(first.outputCap).toBeUndefined();
    expect(first.headers['x-ratelimit-remaining-tokens']).toBe('0');
    await first.settle({ promptTokens: 90, completionTokens: 30, cachedTokens: 0 });
    // The window holds what the first one used (120): the next is counted for the 1880 left.
    const second = (await control.admit(smallTenant, 'free', prompt, estimated, 'r2'))!;
    expect(second.outputCap).toBeUndefined();
    expect(second.headers['x-ratelimit-remaining-tokens']).toBe('0');
    // While it runs, one more is counted for its prompt alone, which the full window cannot take yet.
    let refused: unknown;
    try {
      control.admit(smallTenant, 'free', prompt, estimated, 'r3');
    } catch (error) {
      refused = error;
    }
    expect(refused).toMatchObject({ status: 429, code: 'rate_limit_exceeded', headers: { 'retry-after': expect.any(String) } });
    expect((refused as Error).message).not.toMatch(/max_tokens/);
    control.close();
  });

  it('says a prompt larger than the whole limit can never pass, without asking to lower a max_tokens the request does not give', () => {
    const control = admission(new MemoryLimitStore());
    let refused: unknown;
    try {
      control.admit(smallTenant, 'free', { promptBytes: () => 3 * 2_500 }, estimated, 'r1');
    } catch (error) {
      refused = error;
    }
    expect(refused).toMatchObject({ status: 429, code: 'rate_limit_exceeded', headers: { 'x-should-retry': 'false' } });
    expect((refused as Error).message).toMatch(/prompt alone is more than the whole limit/);
    expect((refused as Error).message).not.toMatch(/max_tokens/);
    control.close();
  });
});
