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
