import { describe, expect, it } from 'vitest';
import { defaultCatalog } from '../config/model-catalog.js';
import { formatMoney, resolveExchangeRates } from './money.js';
import { costOf, PriceTable, type ModelPrice } from './price-table.js';

const table = new PriceTable();
const usage = (promptTokens: number, completionTokens = 0, cachedTokens = 0) => ({ promptTokens, completionTokens, cachedTokens });

function priceOf(priceTable: PriceTable, model: string): ModelPrice {
  const price = priceTable.price(model);
  if (price === undefined) throw new Error(`${model} is unpriced`);
  return price;
}

describe('PriceTable defaults', () => {
  it("carry the seed's table: one $/MTok figure for input, output and cached input", () => {
    const seed: [string, number][] = [['gpt-4.1', 8], ['claude-sonnet-4.5', 15], ['gemini-2.5-flash', 2.5], ['deepseek-v3.2', 0.42]];
    for (const [model, official] of seed) {
      const price = priceOf(table, model);
      expect(price.relay, model).toEqual({ input: 150_000, output: 150_000, cached: 150_000 });
      const officialMicros = Math.round(official * 1_000_000);
      expect(price.official, model).toEqual({ input: officialMicros, output: officialMicros, cached: officialMicros });
    }
  });

  it('price every model of the catalog, and mock models at zero', () => {
    for (const model of defaultCatalog) expect(table.price(model.id), model.id).toBeDefined();
    for (const model of ['mock-chat', 'mock-embedding', 'mock-anything']) {
      expect(priceOf(table, model)).toEqual({ entry: 'mock-*', relay: { input: 0, output: 0, cached: 0 }, official: { input: 0, output: 0, cached: 0 } });
    }
  });

  it('leave unknown models unpriced rather than free', () => {
    expect(table.price('some-new-model')).toBeUndefined();
    expect(table.price('mock')).toBeUndefined();
  });
});

describe('PriceTable overrides', () => {
  it('replace the relay price and keep the built-in official price unless given', () => {
    const custom = new PriceTable({ 'gpt-4.1': { input: 0.2, output: 0.3 }, 'my-model': { input: 1, output: 2, officialInput: 3 } });
    expect(priceOf(custom, 'gpt-4.1')).toEqual({
      entry: 'gpt-4.1',
      relay: { input: 200_000, output: 300_000, cached: 200_000 },
      official: { input: 8_000_000, output: 8_000_000, cached: 8_000_000 },
    });
    expect(priceOf(custom, 'my-model').official).toEqual({ input: 3_000_000, output: 2_000_000, cached: 3_000_000 });
    expect(priceOf(custom, 'claude-sonnet-4.5').relay.input).toBe(150_000);
  });

  it('match patterns, the exact name first and then the longest pattern', () => {
    const custom = new PriceTable({ 'ft-*': { input: 1, output: 1 }, 'ft-large-*': { input: 2, output: 2 }, 'ft-large-exact': { input: 3, output: 3 } });
    expect(priceOf(custom, 'ft-small-1').entry).toBe('ft-*');
    expect(priceOf(custom, 'ft-large-1').entry).toBe('ft-large-*');
    expect(priceOf(custom, 'ft-large-exact').entry).toBe('ft-large-exact');
    // Only `*` is special: a dot in a model name is literal.
    expect(new PriceTable({ 'a.b': { input: 1, output: 1 } }).price('axb')).toBeUndefined();
  });

  it('reject prices that are negative or not numbers, naming the entry', () => {
    expect(() => new PriceTable({ 'my-model': { input: -1, output: 1 } })).toThrow(/prices\.my-model\.input/);
    expect(() => new PriceTable({ 'my-model': { input: 1, output: Number.NaN } })).toThrow(/prices\.my-model\.output/);
  });
});

describe('costOf', () => {
  const gpt41 = priceOf(table, 'gpt-4.1');
  const rates = resolveExchangeRates();

  it("charges the relay's price and reports the official one", () => {
    const cost = costOf(usage(1_000), gpt41, 'USD', rates);
    expect(cost).toEqual({ costMicros: 150, officialCostMicros: 8_000 });
    expect(formatMoney(cost.costMicros, 'USD')).toBe('$0.000150');
    expect(costOf(usage(1_000_000, 1_000_000), priceOf(table, 'claude-sonnet-4.5'), 'USD', rates)).toEqual({ costMicros: 300_000, officialCostMicros: 30_000_000 });
  });

  it('bills cached prompt tokens at the cached price', () => {
    const price = priceOf(new PriceTable({ 'gpt-4.1': { input: 0.15, output: 0.6, cached: 0.075 } }), 'gpt-4.1');
    // 600 uncached × 0.15 + 400 cached × 0.075 + 100 completion × 0.6 = 90 + 30 + 60 micro-USD
    expect(costOf(usage(1_000, 100, 400), price, 'USD', rates).costMicros).toBe(180);
    // A cached count above the prompt count is capped at it.
    expect(costOf(usage(1_000, 0, 5_000), price, 'USD', rates).costMicros).toBe(75);
  });

  it('rounds up once per request, not once per token class', () => {
    expect(costOf(usage(1), gpt41, 'USD', rates).costMicros).toBe(1);
    expect(costOf(usage(3), gpt41, 'USD', rates).costMicros).toBe(1);
    // 7 × 0.15 + 7 × 0.15 = 2.1 micro-USD → 3, where rounding each class up would give 4.
    expect(costOf(usage(7, 7), gpt41, 'USD', rates).costMicros).toBe(3);
    expect(costOf(usage(0), gpt41, 'USD', rates)).toEqual({ costMicros: 0, officialCostMicros: 0 });
  });

  it('converts the rounded USD cost to the billing currency', () => {
    expect(costOf(usage(1_000), gpt41, 'CNY', rates)).toEqual({ costMicros: 150, officialCostMicros: 8_000 });
    expect(costOf(usage(1_000), gpt41, 'EUR', rates)).toEqual({ costMicros: 138, officialCostMicros: 7_360 });
    expect(costOf(usage(1_000), gpt41, 'CNY', resolveExchangeRates({ CNY: 7.2 })).costMicros).toBe(1_080);
  });

  it('stays exact for large requests and refuses malformed counts', () => {
    expect(costOf(usage(0, 1_000_000_000), priceOf(table, 'claude-opus-4'), 'USD', rates).officialCostMicros).toBe(75_000_000_000);
    expect(() => costOf(usage(Number.NaN), gpt41, 'USD', rates)).toThrow(RangeError);
    expect(() => costOf(usage(-1), gpt41, 'USD', rates)).toThrow(RangeError);
    expect(() => costOf(usage(1.5), gpt41, 'USD', rates)).toThrow(RangeError);
  });
});

describe('costOf exactness', () => {
  const rates = resolveExchangeRates({});
  const exact = (uncached: number, cached: number, completion: number, prices: { input: number; cached: number; output: number }): number => {
    const scaled = BigInt(uncached) * BigInt(prices.input) + BigInt(cached) * BigInt(prices.cached) + BigInt(completion) * BigInt(prices.output);
    return Number(scaled / 1_000_000n + (scaled % 1_000_000n > 0n ? 1n : 0n));
  };

  it('rounds up to the micro-dollar exactly, for small, large and near-2^53 amounts alike', () => {
    let seed = 42;
    const random = (limit: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return Math.floor((seed / 2 ** 31) * limit);
    };
    const cases: Array<[number, number, number, { input: number; cached: number; output: number }]> = [
      [999_999, 0, 1, { input: 1, cached: 1, output: 1 }],
      [2 ** 40, 0, 0, { input: 8191, cached: 0, output: 0 }],
      [0, 0, 4_503_599_627, { input: 1_999_999, cached: 0, output: 1_999_999 }],
      [3_000_000_000, 1, 3_000_000_000, { input: 1_500_000, cached: 7, output: 1_499_999 }],
    ];
    for (let index = 0; index < 2_000; index++) {
      const scale = [1_000, 1_000_000, 1_000_000_000, 4_000_000_000][index % 4]!;
      cases.push([random(scale), random(scale), random(scale), { input: random(100_000_000), cached: random(100_000_000), output: random(100_000_000) }]);
    }
    for (const [uncached, cached, completion, prices] of cases) {
      const price: ModelPrice = { relay: prices, official: prices } as ModelPrice;
      const cost = costOf({ promptTokens: uncached + cached, cachedTokens: cached, completionTokens: completion }, price, 'USD', rates);
      expect(cost.costMicros, `${uncached} ${cached} ${completion} ${JSON.stringify(prices)}`).toBe(exact(uncached, cached, completion, prices));
    }
  });
});
