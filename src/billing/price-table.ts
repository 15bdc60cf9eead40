import { divideRoundingUp, toSafeNumber, toScaledInteger } from './decimal.js';
import { defaultPrices } from './default-prices.js';
import { convertMicros, defaultExchangeRates, type Currency, type ExchangeRates } from './money.js';

/**
 * A model's prices as written in config, in USD per 1M tokens. The relay's price is what a key is
 * charged; the official price is the vendor's list price, used only to report savings.
 */
export interface PriceSettings {
  /** Relay price per 1M prompt tokens that were not served from the upstream's cache. */
  input: number;
  /** Relay price per 1M completion tokens. */
  output: number;
  /** Relay price per 1M cached prompt tokens. Default: `input`. */
  cached?: number;
  /** Vendor list price per 1M input tokens. Default: the built-in entry's, else `input`. */
  officialInput?: number;
  /** Vendor list price per 1M output tokens. Default: the built-in entry's, else `output`. */
  officialOutput?: number;
  /** Vendor list price per 1M cached input tokens. Default: `officialInput` when given, else the built-in entry's, else `officialInput`. */
  officialCached?: number;
}

/** Prices in micro-USD per 1M tokens (USD per 1M tokens × 1 000 000): exact integers. */
export interface TokenPrices {
  input: number;
  output: number;
  cached: number;
}

/** What one model costs, resolved from the defaults and the config. */
export interface ModelPrice {
  /** The table entry that matched: the model's own name, or a pattern such as `mock-*`. */
  entry: string;
  relay: TokenPrices;
  official: TokenPrices;
}

/** Token counts of one request. `cachedTokens` are part of `promptTokens`, as OpenAI reports them. */
export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
}

/** A request's cost in micro-units of the billing currency. */
export interface Cost {
  /** What the key is charged at the relay's price. */
  costMicros: number;
  /** What the same tokens cost at the vendor's list price. */
  officialCostMicros: number;
}

const microsPerMillionTokens = 1_000_000n;

/**
 * The relay's price list: the built-in defaults (`default-prices.ts`) with config entries on top.
 * A config entry replaces the relay price of a model and keeps the built-in official price unless it
 * gives one. Keys may contain `*` (`mock-*`, `my-finetune-*`); an exact name wins over a pattern, and
 * a longer pattern over a shorter one.
 */
export class PriceTable {
  private readonly exact = new Map<string, ModelPrice>();
  private readonly patterns: { expression: RegExp; price: ModelPrice }[] = [];

  constructor(overrides: Readonly<Record<string, PriceSettings>> = {}, defaults: Readonly<Record<string, PriceSettings>> = defaultPrices) {
    const resolved = new Map<string, Required<PriceSettings>>();
    for (const [entry, settings] of Object.entries(defaults)) resolved.set(entry, resolveSettings(entry, settings, undefined));
    for (const [entry, settings] of Object.entries(overrides)) resolved.set(entry, resolveSettings(entry, settings, resolved.get(entry)));

    const patternEntries: [string, ModelPrice][] = [];
    for (const [entry, settings] of resolved) {
      const price = toModelPrice(entry, settings);
      if (entry.includes('*')) patternEntries.push([entry, price]);
      else this.exact.set(entry, price);
    }
    patternEntries.sort(([left], [right]) => right.length - left.length);
    for (const [entry, price] of patternEntries) {
      const source = entry.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*');
      this.patterns.push({ expression: new RegExp(`^${source}$`), price });
    }
  }

  /**
   * The price of `model`, or `undefined` when it is unpriced. Unpriced is not free: callers refuse
   * metered keys for such a model rather than charge zero.
   */
  price(model: string): ModelPrice | undefined {
    return this.exact.get(model) ?? this.patterns.find((pattern) => pattern.expression.test(model))?.price;
  }
}

/**
 * The cost of one request, exactly. Cached tokens are part of `promptTokens` and billed at the cached
 * price (a cached count above `promptTokens` is capped at it). The sum is computed in BigInt as
 * micro-USD × 1 000 000, rounded UP once per request to a whole micro-USD (so a request is never
 * billed less than it used, and rounding never compounds per token class), then converted to
 * `currency`, rounding half up (`convertMicros`).
 *
 * @example 1000 prompt tokens of gpt-4.1 at $0.15/MTok → 150 micro-USD ("$0.000150")
 */
export function costOf(usage: TokenUsage, price: ModelPrice, currency: Currency, rates: ExchangeRates = defaultExchangeRates): Cost {
  const prompt = tokenCount(usage.promptTokens, 'promptTokens');
  const completion = tokenCount(usage.completionTokens, 'completionTokens');
  const cached = Math.min(tokenCount(usage.cachedTokens, 'cachedTokens'), prompt);
  return {
    costMicros: convertMicros(usdMicrosOf(prompt - cached, cached, completion, price.relay), 'USD', currency, rates),
    officialCostMicros: convertMicros(usdMicrosOf(prompt - cached, cached, completion, price.official), 'USD', currency, rates),
  };
}

/**
 * The relay's price of a request in micro-USD, without cached tokens: a reservation's worst case.
 * A worst case beyond what a number holds exactly (a `max_tokens` of 2^53) is held as
 * `Number.MAX_SAFE_INTEGER`, more than any budget or balance: such a request is refused, never
 * priced by a rounded number.
 */
export function relayCostMicros(promptTokens: number, completionTokens: number, price: ModelPrice): number {
  const prompt = tokenCount(promptTokens, 'promptTokens');
  const completion = tokenCount(completionTokens, 'completionTokens');
  try {
    return usdMicrosOf(prompt, 0, completion, price.relay);
  } catch (error) {
    if (error instanceof RangeError) return Number.MAX_SAFE_INTEGER;
    throw error;
  }
}

/**
 * Tokens × prices per million tokens, in micro-USD rounded up. Exact either way: in Numbers while
 * every product and the sum stay integers below 2^53 (any real request), else in BigInts.
 */
function usdMicrosOf(uncached: number, cached: number, completion: number, prices: TokenPrices): number {
  const scaled = uncached * prices.input + cached * prices.cached + completion * prices.output;
  if (Number.isSafeInteger(scaled) && Number.isSafeInteger(uncached * prices.input) && Number.isSafeInteger(cached * prices.cached) && Number.isSafeInteger(completion * prices.output)) {
    let quotient = Math.floor(scaled / 1_000_000);
    // Floating division may land one off near an integer: products of integers below 2^53 are exact and decide.
    if (quotient * 1_000_000 > scaled) quotient--;
    else if ((quotient + 1) * 1_000_000 <= scaled) quotient++;
    return quotient * 1_000_000 < scaled ? quotient + 1 : quotient;
  }
  const big = BigInt(uncached) * BigInt(prices.input) + BigInt(cached) * BigInt(prices.cached) + BigInt(completion) * BigInt(prices.output);
  return toSafeNumber(divideRoundingUp(big, microsPerMillionTokens), 'cost');
}

function tokenCount(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative integer, got ${value}`);
  return value;
}

function resolveSettings(entry: string, settings: PriceSettings, base: Required<PriceSettings> | undefined): Required<PriceSettings> {
  const input = usd(entry, 'input', settings.input);
  const output = usd(entry, 'output', settings.output);
  const officialInput = usd(entry, 'officialInput', settings.officialInput ?? base?.officialInput ?? input);
  return {
    input,
    output,
    cached: usd(entry, 'cached', settings.cached ?? input),
    officialInput,
    officialOutput: usd(entry, 'officialOutput', settings.officialOutput ?? base?.officialOutput ?? output),
    officialCached: usd(entry, 'officialCached', settings.officialCached ?? (settings.officialInput === undefined ? base?.officialCached : undefined) ?? officialInput),
  };
}

function usd(entry: string, field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new RangeError(`prices.${entry}.${field} must be a non-negative number of USD per 1M tokens, got ${String(value)}`);
  }
  return value;
}

function toModelPrice(entry: string, settings: Required<PriceSettings>): ModelPrice {
  const micros = (value: number): number => toSafeNumber(toScaledInteger(value, 6), `price of ${entry}`);
  return {
    entry,
    relay: { input: micros(settings.input), output: micros(settings.output), cached: micros(settings.cached) },
    official: { input: micros(settings.officialInput), output: micros(settings.officialOutput), cached: micros(settings.officialCached) },
  };
}
