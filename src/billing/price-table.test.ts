import { describe, expect, it } from 'vitest';
import { defaultCatalog } from '../config/model-catalog.js';
import { formatMoney, resolveExchangeRates } from './money.js';
import { costOf, PriceTable, relayCostMicros, type ModelPrice } from './price-table.js';

const table = new PriceTable();
const usage = (promptTokens: number, completionTokens = 0, cachedTokens = 0, cacheWriteTokens = 0, cacheWrite1hTokens = 0) => ({ promptTokens, completionTokens, cachedTokens, cacheWriteTokens, cacheWrite1hTokens });
/** One figure for input, output and cached input, and cache writes at `write` and `write1h` (micro-USD per 1M tokens). */
const flatMicros = (micros: number, write = micros, write1h = write) => ({ input: micros, output: micros, cached: micros, cacheWrite: write, cacheWrite1h: write1h });

function priceOf(priceTable: PriceTable, model: string): ModelPrice {
  const price = priceTable.price(model);
  if (price === undefined) throw new Error(`${model} is unpriced`);
  return price;
}

describe('PriceTable defaults', () => {
  it("carry the seed's table: one $/MTok figure for input, output and cached input, and cache writes as input where the vendor bills none apart", () => {
    const seed: [string, number][] = [['gpt-4.1', 8], ['gemini-2.5-flash', 2.5], ['deepseek-v3.2', 0.42]];
    for (const [model, official] of seed) {
      const price = priceOf(table, model);
      expect(price.relay, model).toEqual(flatMicros(150_000));
      expect(price.official, model).toEqual(flatMicros(Math.round(official * 1_000_000)));
    }
  });

  it("price a Claude model's cache writes as Anthropic bills them: 1.25× input for 5 minutes, 2× for 1 hour", () => {
    // The seed's $0.15 → $0.1875 and $0.30; Sonnet 4.5's official $15 → $18.75 and $30.
    expect(priceOf(table, 'claude-sonnet-4.5')).toEqual({ entry: 'claude-sonnet-4.5', relay: flatMicros(150_000, 187_500, 300_000), official: flatMicros(15_000_000, 18_750_000, 30_000_000) });
    expect(priceOf(table, 'claude-opus-4').official).toEqual(flatMicros(75_000_000, 93_750_000, 150_000_000));
    expect(priceOf(table, 'claude-haiku-4.5').official).toEqual(flatMicros(5_000_000, 6_250_000, 10_000_000));
  });

  it('price every model of the catalog, and mock models at zero', () => {
    for (const model of defaultCatalog) expect(table.price(model.id), model.id).toBeDefined();
    for (const model of ['mock-chat', 'mock-embedding', 'mock-anything']) {
      expect(priceOf(table, model)).toEqual({ entry: 'mock-*', relay: flatMicros(0), official: flatMicros(0) });
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
      relay: { input: 200_000, output: 300_000, cached: 200_000, cacheWrite: 200_000, cacheWrite1h: 200_000 },
      official: flatMicros(8_000_000),
    });
    expect(priceOf(custom, 'my-model').official).toEqual({ input: 3_000_000, output: 2_000_000, cached: 3_000_000, cacheWrite: 3_000_000, cacheWrite1h: 3_000_000 });
    expect(priceOf(custom, 'claude-sonnet-4.5').relay.input).toBe(150_000);
  });

  it("derive a Claude entry's cache writes from its own input price, unless the entry gives them", () => {
    const custom = new PriceTable({
      'claude-sonnet-4.5': { input: 3, output: 15, cached: 0.3 },
      'claude-opus-4': { input: 15, output: 75, cacheWrite: 16, officialInput: 15, officialCacheWrite1h: 31 },
      'claude-next-*': { input: 1, output: 5 },
      'vendor-model': { input: 1, output: 2, cacheWrite: 1.5 },
      'tiny-claude': { input: 0.000001, output: 0 },
      'claude-tiny': { input: 0.000001, output: 0 },
    });
    // Anthropic's list prices for Sonnet 4.5: $3 input, $3.75 and $6 writes, $0.30 cache hits. The built-in official prices stay.
    expect(priceOf(custom, 'claude-sonnet-4.5')).toEqual({
      entry: 'claude-sonnet-4.5',
      relay: { input: 3_000_000, output: 15_000_000, cached: 300_000, cacheWrite: 3_750_000, cacheWrite1h: 6_000_000 },
      official: flatMicros(15_000_000, 18_750_000, 30_000_000),
    });
    // A price given is taken; the 1-hour write still follows the vendor's multiplier of input.
    expect(priceOf(custom, 'claude-opus-4').relay).toMatchObject({ cacheWrite: 16_000_000, cacheWrite1h: 30_000_000 });
    expect(priceOf(custom, 'claude-opus-4').official).toEqual({ input: 15_000_000, output: 75_000_000, cached: 15_000_000, cacheWrite: 18_750_000, cacheWrite1h: 31_000_000 });
    expect(priceOf(custom, 'claude-next-model').relay).toMatchObject({ cacheWrite: 1_250_000, cacheWrite1h: 2_000_000 });
    // Another vendor's write price applies to both kinds of writes.
    expect(priceOf(custom, 'vendor-model').relay).toMatchObject({ input: 1_000_000, cacheWrite: 1_500_000, cacheWrite1h: 1_500_000 });
    expect(priceOf(custom, 'tiny-claude').relay).toMatchObject({ cacheWrite: 1, cacheWrite1h: 1 });
    // 1 micro-USD per 1M tokens × 1.25 is no whole micro-USD: rounded up, never below the vendor's multiple.
    expect(priceOf(custom, 'claude-tiny').relay).toMatchObject({ input: 1, cacheWrite: 2, cacheWrite1h: 2 });
  });

  it("keep the built-in official cache-write prices unless the entry gives its own official input price", () => {
    const custom = new PriceTable({ 'claude-haiku-4.5': { input: 1, output: 5 }, 'claude-opus-4': { input: 15, output: 75, officialInput: 5 } });
    expect(priceOf(custom, 'claude-haiku-4.5').official).toMatchObject({ cacheWrite: 6_250_000, cacheWrite1h: 10_000_000 });
    expect(priceOf(custom, 'claude-opus-4').official).toMatchObject({ input: 5_000_000, cacheWrite: 6_250_000, cacheWrite1h: 10_000_000 });
  });

  it('match patterns, the exact name first and then the longest pattern', () => {
    const custom = new PriceTable({ 'ft-*': { input: 1, output: 1 }, 'ft-large-*': { input: 2, output: 2 }, 'ft-large-exact': { input: 3, output: 3 } });
    expect(priceOf(custom, 'ft-small-1').entry).toBe('ft-*');
    expect(priceOf(custom, 'ft-large-1').entry).toBe('ft-large-*');
    expect(priceOf(custom, 'ft-large-exact').entry).toBe('ft-large-exact');
    // Only `*` is special: a dot in a model name is literal.
    expect(new PriceTable({ 'a.b': { input: 1, output: 1 } }).price('axb')).toBeUndefined();
  });

  it('match a pattern against any characters, line breaks included', () => {
    const custom = new PriceTable({ '*': { input: 1, output: 1 }, 'ft-*': { input: 2, output: 2 } });
    for (const model of ['a\nb', '\r\n', 'x\u2028y']) expect(priceOf(custom, model).entry).toBe('*');
    expect(priceOf(custom, 'ft-\nlarge').entry).toBe('ft-*');
  });

  it('reject prices that are negative or not numbers, naming the entry', () => {
    expect(() => new PriceTable({ 'my-model': { input: -1, output: 1 } })).toThrow(/prices\.my-model\.input/);
    expect(() => new PriceTable({ 'my-model': { input: 1, output: Number.NaN } })).toThrow(/prices\.my-model\.output/);
    expect(() => new PriceTable({ 'my-model': { input: 1, output: 1, cacheWrite1h: -2 } })).toThrow(/prices\.my-model\.cacheWrite1h/);
  });
});

describe("PriceTable: vendors' names and dated snapshots", () => {
  it("price a vendor's spelling or dated snapshot of a catalog model as that model", () => {
    const cases: [string, string][] = [
      ['claude-sonnet-4-5', 'claude-sonnet-4.5'],
      ['claude-sonnet-4-5-20250929', 'claude-sonnet-4.5'],
      ['claude-sonnet-4-0', 'claude-sonnet-4'],
      ['claude-sonnet-4-20250514', 'claude-sonnet-4'],
      ['claude-opus-4-0', 'claude-opus-4'],
      ['claude-opus-4-20250514', 'claude-opus-4'],
      ['claude-haiku-4-5', 'claude-haiku-4.5'],
      ['claude-haiku-4-5-20251001', 'claude-haiku-4.5'],
      ['gpt-4.1-2025-04-14', 'gpt-4.1'],
      ['gpt-4.1-mini-2025-04-14', 'gpt-4.1-mini'],
      ['gpt-4o-2024-08-06', 'gpt-4o'],
      ['gpt-4o-2024-11-20', 'gpt-4o'],
      ['gpt-4o-mini-2024-07-18', 'gpt-4o-mini'],
      ['o3-mini-2025-01-31', 'o3-mini'],
    ];
    for (const [model, entry] of cases) expect(table.price(model), model).toBe(priceOf(table, entry));
  });

  it("price Claude Opus 4.1 as Opus 4, the catalog's word that Anthropic lists them alike", () => {
    expect(table.price('claude-opus-4-1')).toBe(priceOf(table, 'claude-opus-4'));
    expect(table.price('claude-opus-4-1-20250805')).toBe(priceOf(table, 'claude-opus-4'));
  });

  it('never guess across models: other families, aliases, snapshots priced apart and Gemini previews stay unpriced', () => {
    for (const model of [
      'claude-3-5-haiku-latest',
      'claude-3-5-haiku-20241022',
      'claude-opus-4-5',
      'claude-sonnet-4-6',
      // The seed's aliases say what serves a name, not that it costs the same.
      'claude-3-opus-20240229',
      'gpt-4-turbo-2024-04-09',
      // Priced apart by the catalog ($5 and $15), and 4-digit snapshots of another era.
      'gpt-4o-2024-05-13',
      'gpt-3.5-turbo-1106',
      'gemini-2.5-flash-preview-05-20',
      'gemini-2.5-pro-preview-06-05',
      // A vendor name two catalog models share (DeepSeek's Flash without and with thinking).
      'deepseek-flash',
      'my-model-20250101',
    ]) {
      expect(table.price(model), model).toBeUndefined();
    }
  });

  it("let a name's own entry, exact or a pattern, win; and price a snapshot of an entry's name as that entry", () => {
    const custom = new PriceTable({
      'claude-sonnet-4-5-20250929': { input: 1, output: 1 },
      'gpt-4o-*': { input: 2, output: 2 },
      'claude-opus-4-1': { input: 15, output: 75 },
      'claude-sonnet-4.5': { input: 3, output: 15 },
    });
    expect(priceOf(custom, 'claude-sonnet-4-5-20250929').entry).toBe('claude-sonnet-4-5-20250929');
    expect(priceOf(custom, 'gpt-4o-2024-08-06').entry).toBe('gpt-4o-*');
    expect(priceOf(custom, 'claude-opus-4-1-20250805').entry).toBe('claude-opus-4-1');
    // Config prices of a catalog model apply to its vendor's names for it.
    expect(priceOf(custom, 'claude-sonnet-4-5')).toBe(priceOf(custom, 'claude-sonnet-4.5'));
    expect(priceOf(custom, 'claude-sonnet-4-5').relay.input).toBe(3_000_000);
  });

  it('answer the same after more client-chosen names than it keeps', () => {
    const madeUp = Array.from({ length: 5_000 }, (_, index) => table.price(`gpt-made-up-${index}`));
    expect(madeUp.filter((price) => price !== undefined)).toEqual([]);
    expect(table.price('claude-sonnet-4-5-20250929')).toBe(priceOf(table, 'claude-sonnet-4.5'));
    expect(table.price('mock-anything')?.entry).toBe('mock-*');
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

  it('bills cache writes at the cache-write prices, the 1-hour ones at theirs', () => {
    const sonnet = priceOf(new PriceTable({ 'claude-sonnet-4.5': { input: 3, output: 15, cached: 0.3 } }), 'claude-sonnet-4.5');
    // 5 000 uncached × $3 + 2 000 cached × $0.30 + 2 000 5-minute writes × $3.75 + 1 000 1-hour writes × $6
    // + 500 completion × $15 = 15 000 + 600 + 7 500 + 6 000 + 7 500 micro-USD.
    expect(costOf(usage(10_000, 500, 2_000, 3_000, 1_000), sonnet, 'USD', rates).costMicros).toBe(36_600);
    // As plain input the writes would have cost 9 000, not 13 500.
    expect(costOf(usage(10_000, 500, 2_000), sonnet, 'USD', rates).costMicros).toBe(32_100);
    // The official price of the same tokens (the built-in official $15 figure and its multiples).
    expect(costOf(usage(10_000, 500, 2_000, 3_000, 1_000), sonnet, 'USD', rates).officialCostMicros).toBe(75_000 + 30_000 + 37_500 + 30_000 + 7_500);
    // Writes are capped at the prompt's uncached part, 1-hour writes at the writes.
    expect(costOf(usage(1_000, 0, 400, 5_000, 0), sonnet, 'USD', rates).costMicros).toBe(costOf(usage(1_000, 0, 400, 600, 0), sonnet, 'USD', rates).costMicros);
    expect(costOf(usage(1_000, 0, 0, 100, 900), sonnet, 'USD', rates).costMicros).toBe(costOf(usage(1_000, 0, 0, 100, 100), sonnet, 'USD', rates).costMicros);
    // A vendor without a write price: writes cost as input.
    expect(costOf(usage(1_000, 0, 0, 600, 100), gpt41, 'USD', rates)).toEqual(costOf(usage(1_000), gpt41, 'USD', rates));
    expect(() => costOf(usage(10, 0, 0, -1), gpt41, 'USD', rates)).toThrow(RangeError);
    expect(() => costOf(usage(10, 0, 0, 1, 0.5), gpt41, 'USD', rates)).toThrow(RangeError);
  });

  it('rounds up once per request, not once per token class', () => {
    expect(costOf(usage(1), gpt41, 'USD', rates).costMicros).toBe(1);
    expect(costOf(usage(3), gpt41, 'USD', rates).costMicros).toBe(1);
    // 7 × 0.15 + 7 × 0.15 = 2.1 micro-USD → 3, where rounding each class up would give 4.
    expect(costOf(usage(7, 7), gpt41, 'USD', rates).costMicros).toBe(3);
    // 3 × 0.15 + 1 × 0.1875 + 1 × 0.30 = 0.9375 micro-USD → 1.
    expect(costOf(usage(5, 0, 0, 2, 1), priceOf(table, 'claude-sonnet-4.5'), 'USD', rates).costMicros).toBe(1);
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
  type Prices = ModelPrice['relay'];
  type Counts = { uncached: number; cached: number; written5m: number; written1h: number; completion: number };
  const exact = (counts: Counts, prices: Prices): number => {
    const scaled =
      BigInt(counts.uncached) * BigInt(prices.input) +
      BigInt(counts.cached) * BigInt(prices.cached) +
      BigInt(counts.written5m) * BigInt(prices.cacheWrite) +
      BigInt(counts.written1h) * BigInt(prices.cacheWrite1h) +
      BigInt(counts.completion) * BigInt(prices.output);
    return Number(scaled / 1_000_000n + (scaled % 1_000_000n > 0n ? 1n : 0n));
  };

  it('rounds up to the micro-dollar exactly, for small, large and near-2^53 amounts alike', () => {
    let seed = 42;
    const random = (limit: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return Math.floor((seed / 2 ** 31) * limit);
    };
    const none = { written5m: 0, written1h: 0 };
    const cases: Array<[Counts, Prices]> = [
      [{ uncached: 999_999, cached: 0, completion: 1, ...none }, flatMicros(1)],
      [{ uncached: 2 ** 40, cached: 0, completion: 0, ...none }, { ...flatMicros(0), input: 8191 }],
      [{ uncached: 0, cached: 0, completion: 4_503_599_627, ...none }, { ...flatMicros(1_999_999), cached: 0 }],
      [{ uncached: 3_000_000_000, cached: 1, completion: 3_000_000_000, ...none }, { input: 1_500_000, cached: 7, output: 1_499_999, cacheWrite: 1_875_000, cacheWrite1h: 3_000_000 }],
      [{ uncached: 1, cached: 0, completion: 0, written5m: 2 ** 33, written1h: 2 ** 33 }, { ...flatMicros(0), input: 1, cacheWrite: 1_875_001, cacheWrite1h: 3_000_001 }],
    ];
    for (let index = 0; index < 2_000; index++) {
      const scale = [1_000, 1_000_000, 1_000_000_000, 4_000_000_000][index % 4]!;
      const counts = { uncached: random(scale), cached: random(scale), written5m: random(scale), written1h: random(scale), completion: random(scale) };
      cases.push([counts, { input: random(100_000_000), cached: random(100_000_000), output: random(100_000_000), cacheWrite: random(100_000_000), cacheWrite1h: random(100_000_000) }]);
    }
    for (const [counts, prices] of cases) {
      const price: ModelPrice = { entry: 'random', relay: prices, official: prices };
      const written = counts.written5m + counts.written1h;
      const cost = costOf(
        { promptTokens: counts.uncached + counts.cached + written, cachedTokens: counts.cached, cacheWriteTokens: written, cacheWrite1hTokens: counts.written1h, completionTokens: counts.completion },
        price,
        'USD',
        rates,
      );
      expect(cost.costMicros, `${JSON.stringify(counts)} ${JSON.stringify(prices)}`).toBe(exact(counts, prices));
    }
  });
});

describe('relayCostMicros (a reservation\'s worst case)', () => {
  const sonnet = priceOf(new PriceTable({ 'claude-sonnet-4.5': { input: 3, output: 15, cached: 0.3 } }), 'claude-sonnet-4.5');

  it('prices the prompt at input, or, when the request marks a cache breakpoint, at the write price of the longest lifetime it asks for', () => {
    // 1 000 prompt tokens × $3 + 100 output × $15.
    expect(relayCostMicros(1_000, 100, sonnet)).toBe(4_500);
    // Every prompt token may be written for 5 minutes: × $3.75; for 1 hour: × $6.
    expect(relayCostMicros(1_000, 100, sonnet, '5m')).toBe(5_250);
    expect(relayCostMicros(1_000, 100, sonnet, '1h')).toBe(7_500);
    // Never short of what the usage can be charged, however the prompt turns out to be cached.
    for (const [cached, written, written1h] of [[0, 1_000, 1_000], [0, 1_000, 0], [500, 500, 250], [1_000, 0, 0]] as const) {
      expect(costOf(usage(1_000, 100, cached, written, written1h), sonnet, 'USD').costMicros).toBeLessThanOrEqual(relayCostMicros(1_000, 100, sonnet, '1h'));
      if (written1h === 0) expect(costOf(usage(1_000, 100, cached, written, 0), sonnet, 'USD').costMicros).toBeLessThanOrEqual(relayCostMicros(1_000, 100, sonnet, '5m'));
    }
    // A model whose writes cost as input reserves the same either way.
    const gpt41 = priceOf(table, 'gpt-4.1');
    expect(relayCostMicros(1_000, 100, gpt41, '1h')).toBe(relayCostMicros(1_000, 100, gpt41));
  });
});
