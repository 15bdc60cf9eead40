import { divideRoundingHalfUp, toSafeNumber, toScaledInteger } from './decimal.js';

/**
 * Money in the relay: integer micro-units of one currency (1 unit = 1 000 000 micro-units), so sums
 * and comparisons are exact and a value fits a Redis integer, a SQL BIGINT and a JS number alike.
 * `$0.000150` is `150` micro-USD; `¥1.20` is `1_200_000` micro-CNY.
 */

/** The currencies a key can be billed in (the seed: "USD, CNY, EUR"). */
export type Currency = 'USD' | 'CNY' | 'EUR';

export const currencies: readonly Currency[] = ['USD', 'CNY', 'EUR'];

export const microsPerUnit = 1_000_000;

/**
 * Units of each currency per 1 USD. CNY defaults to 1 because the seed bills at the relay's own
 * "¥1 = $1" rate, not the market rate; EUR defaults to an approximate market rate. Both are meant to
 * be overridden in config.
 */
export type ExchangeRates = Readonly<Record<Currency, number>>;

export const defaultExchangeRates: ExchangeRates = Object.freeze({ USD: 1, CNY: 1, EUR: 0.92 });

/** Rates are held with 9 decimals: enough for any quoted rate, small enough to stay exact in BigInt. */
const rateDigits = 9;

export function isCurrency(value: unknown): value is Currency {
  return typeof value === 'string' && (currencies as readonly string[]).includes(value);
}

/**
 * The default rates with config overrides applied. USD must stay 1 (rates are "per 1 USD"); every
 * rate must be a positive finite number.
 */
export function resolveExchangeRates(overrides: Partial<Record<Currency, number>> = {}): ExchangeRates {
  const rates: Record<Currency, number> = { ...defaultExchangeRates };
  for (const [currency, rate] of Object.entries(overrides)) {
    if (!isCurrency(currency)) throw new RangeError(`Unknown currency ${JSON.stringify(currency)}; expected one of ${currencies.join(', ')}`);
    if (rate === undefined) continue;
    if (!Number.isFinite(rate) || rate <= 0) throw new RangeError(`Exchange rate for ${currency} must be a positive number, got ${rate}`);
    if (currency === 'USD' && rate !== 1) throw new RangeError('Exchange rates are units per 1 USD, so the USD rate must be 1');
    rates[currency] = rate;
  }
  return Object.freeze(rates);
}

/**
 * Converts an amount of micro-units between currencies, rounding to the nearest micro-unit with
 * halves rounded up (towards +∞). The arithmetic is exact: rates are read as decimals (9 places),
 * never multiplied as binary floats.
 */
export function convertMicros(amountMicros: number, from: Currency, to: Currency, rates: ExchangeRates = defaultExchangeRates): number {
  if (!Number.isSafeInteger(amountMicros)) throw new RangeError(`amountMicros must be a safe integer, got ${amountMicros}`);
  if (from === to) return amountMicros;
  const fromRate = toScaledInteger(rateOf(rates, from), rateDigits);
  const toRate = toScaledInteger(rateOf(rates, to), rateDigits);
  return toSafeNumber(divideRoundingHalfUp(BigInt(amountMicros) * toRate, fromRate), 'converted amount');
}

function rateOf(rates: ExchangeRates, currency: Currency): number {
  const rate = rates[currency];
  if (!Number.isFinite(rate) || rate <= 0) throw new RangeError(`No usable exchange rate for ${currency}: ${rate}`);
  return rate;
}

/**
 * An amount in units (as written in config or an admin request) to micro-units, rounded half up to
 * the micro-unit. Refuses NaN, infinities, negatives and amounts beyond Number.MAX_SAFE_INTEGER
 * micro-units (about 9 billion units), which could not be stored exactly.
 */
export function parseMoney(amount: number, currency: Currency): number {
  if (typeof amount !== 'number' || !Number.isFinite(amount)) throw new RangeError(`Amount of ${currency} must be a finite number, got ${amount}`);
  if (amount < 0) throw new RangeError(`Amount of ${currency} must not be negative, got ${amount}`);
  const micros = toScaledInteger(amount, 6);
  if (micros > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`Amount of ${currency} is too large: ${amount}`);
  return Number(micros);
}

const symbols: Readonly<Record<Currency, string>> = { USD: '$', CNY: '¥', EUR: '€' };

/**
 * A human-readable amount: two decimals when it is a whole number of cents (`¥1.20`, `€0.50`), all
 * six otherwise (`$0.000150`) so that per-request costs, which are mostly fractions of a cent, are
 * never shown as `$0.00`.
 */
export function formatMoney(micros: number, currency: Currency): string {
  if (!Number.isSafeInteger(micros)) throw new RangeError(`micros must be a safe integer, got ${micros}`);
  const absolute = Math.abs(micros);
  const whole = Math.floor(absolute / microsPerUnit);
  const fraction = String(absolute % microsPerUnit).padStart(6, '0');
  const decimals = absolute % 10_000 === 0 ? fraction.slice(0, 2) : fraction;
  return `${micros < 0 ? '-' : ''}${symbols[currency]}${whole}.${decimals}`;
}
