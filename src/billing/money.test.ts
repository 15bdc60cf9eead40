import { describe, expect, it } from 'vitest';
import { convertMicros, defaultExchangeRates, formatMoney, parseMoney, resolveExchangeRates } from './money.js';

describe('convertMicros', () => {
  it('uses the seed rate ¥1 = $1 and an overridable EUR rate by default', () => {
    expect(defaultExchangeRates).toEqual({ USD: 1, CNY: 1, EUR: 0.92 });
    expect(convertMicros(1_200_000, 'USD', 'CNY')).toBe(1_200_000);
    expect(convertMicros(1_000_000, 'USD', 'EUR')).toBe(920_000);
    expect(convertMicros(920_000, 'EUR', 'USD')).toBe(1_000_000);
    expect(convertMicros(1_000_000, 'EUR', 'CNY', resolveExchangeRates({ CNY: 7.1 }))).toBe(7_717_391);
  });

  it('rounds to the nearest micro-unit, halves up, in exact decimal arithmetic', () => {
    const half = resolveExchangeRates({ EUR: 0.5 });
    expect(convertMicros(1, 'USD', 'EUR', half)).toBe(1);
    expect(convertMicros(3, 'USD', 'EUR', half)).toBe(2);
    expect(convertMicros(-3, 'USD', 'EUR', half)).toBe(-1);
    expect(convertMicros(7, 'EUR', 'USD', resolveExchangeRates({ EUR: 4 }))).toBe(2);
    // 5 × 0.7 is 3.4999999999999996 in binary floating point; as decimals it is 3.5, which rounds up.
    expect(convertMicros(5, 'USD', 'EUR', resolveExchangeRates({ EUR: 0.7 }))).toBe(4);
  });

  it('refuses amounts that are not safe integers', () => {
    expect(() => convertMicros(1.5, 'USD', 'EUR')).toThrow(RangeError);
    expect(() => convertMicros(Number.MAX_SAFE_INTEGER, 'USD', 'CNY', resolveExchangeRates({ CNY: 2 }))).toThrow(/MAX_SAFE_INTEGER/);
  });
});

describe('resolveExchangeRates', () => {
  it('applies overrides and rejects rates that would make no sense', () => {
    expect(resolveExchangeRates({ CNY: 7.2 })).toEqual({ USD: 1, CNY: 7.2, EUR: 0.92 });
    expect(() => resolveExchangeRates({ USD: 2 })).toThrow(/per 1 USD/);
    expect(() => resolveExchangeRates({ EUR: 0 })).toThrow(RangeError);
    expect(() => resolveExchangeRates({ EUR: Number.NaN })).toThrow(RangeError);
    expect(() => resolveExchangeRates({ GBP: 0.8 } as never)).toThrow(/Unknown currency/);
  });
});

describe('parseMoney', () => {
  it('reads amounts as the decimals a person wrote, rounding half up to the micro-unit', () => {
    expect(parseMoney(0.15, 'USD')).toBe(150_000);
    expect(parseMoney(10, 'CNY')).toBe(10_000_000);
    expect(parseMoney(1.2345675, 'USD')).toBe(1_234_568);
    expect(parseMoney(1.2345674, 'USD')).toBe(1_234_567);
    expect(parseMoney(1e-7, 'USD')).toBe(0);
    expect(parseMoney(5e-7, 'USD')).toBe(1);
    expect(parseMoney(9_007_199_254.74099, 'USD')).toBe(9_007_199_254_740_990);
  });

  it('rejects NaN, infinities, negatives and amounts too large to hold exactly', () => {
    for (const amount of [Number.NaN, Number.POSITIVE_INFINITY, -0.01, 9_007_199_255, 1e21]) {
      expect(() => parseMoney(amount, 'EUR'), String(amount)).toThrow(RangeError);
    }
  });
});

describe('formatMoney', () => {
  it('shows cents when the amount is whole cents and micro-units otherwise', () => {
    expect(formatMoney(150, 'USD')).toBe('$0.000150');
    expect(formatMoney(1_200_000, 'CNY')).toBe('¥1.20');
    expect(formatMoney(500_000, 'EUR')).toBe('€0.50');
    expect(formatMoney(0, 'USD')).toBe('$0.00');
    expect(formatMoney(-1_500_000, 'USD')).toBe('-$1.50');
    expect(formatMoney(12_345_678_901, 'USD')).toBe('$12345.678901');
  });
});
