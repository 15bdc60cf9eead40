import { catalogModelOf, undatedName } from '../config/model-catalog.js';
import { divideRoundingUp, toSafeNumber, toScaledInteger } from './decimal.js';
import { cacheWriteMultipliers, defaultPrices, type CacheWriteMultipliers } from './default-prices.js';
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
  /**
   * Relay price per 1M prompt tokens written to the upstream's prompt cache (Anthropic's 5-minute
   * writes). Default: for a Claude model (an entry named `claude-…`) `input` × 1.25, Anthropic's
   * multiplier; else `input`, as vendors that bill no writes apart charge them.
   */
  cacheWrite?: number;
  /** Relay price per 1M prompt tokens written to the cache for 1 hour. Default: for a Claude model `input` × 2; else `cacheWrite`. */
  cacheWrite1h?: number;
  /** Vendor list price per 1M input tokens. Default: the built-in entry's, else `input`. */
  officialInput?: number;
  /** Vendor list price per 1M output tokens. Default: the built-in entry's, else `output`. */
  officialOutput?: number;
  /** Vendor list price per 1M cached input tokens. Default: `officialInput` when given, else the built-in entry's, else `officialInput`. */
  officialCached?: number;
  /** Vendor list price per 1M cache-write tokens (5 minutes). Default: the built-in entry's unless `officialInput` is given, else derived from `officialInput` as `cacheWrite` from `input`. */
  officialCacheWrite?: number;
  /** Vendor list price per 1M cache-write tokens (1 hour). Default: as `officialCacheWrite`, derived as `cacheWrite1h`. */
  officialCacheWrite1h?: number;
}

/** Prices in micro-USD per 1M tokens (USD per 1M tokens × 1 000 000): exact integers. */
export interface TokenPrices {
  input: number;
  output: number;
  cached: number;
  /** Prompt tokens written to the prompt cache (for 5 minutes, or by a vendor that has one kind of write). */
  cacheWrite: number;
  /** Prompt tokens written to the prompt cache for 1 hour. */
  cacheWrite1h: number;
}

/** What one model costs, resolved from the defaults and the config. */
export interface ModelPrice {
  /** The table entry that matched: the model's own name, or a pattern such as `mock-*`. */
  entry: string;
  relay: TokenPrices;
  official: TokenPrices;
}

/**
 * Token counts of one request. `cachedTokens` (read from the prompt cache) and `cacheWriteTokens`
 * (written to it) are part of `promptTokens`, as OpenAI counts cached tokens; `cacheWrite1hTokens`
 * are the part of the writes cached for 1 hour (Anthropic's `ephemeral_1h_input_tokens`).
 */
export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
  cacheWriteTokens?: number;
  cacheWrite1hTokens?: number;
}

/** A request's cost in micro-units of the billing currency. */
export interface Cost {
  /** What the key is charged at the relay's price. */
  costMicros: number;
  /** What the same tokens cost at the vendor's list price. */
  officialCostMicros: number;
}

const microsPerMillionTokens = 1_000_000n;

/** Client-chosen names are unbounded: the prices found for names without an exact entry are kept for at most this many. */
const lookupsKept = 4096;

/**
 * The relay's price list: the built-in defaults (`default-prices.ts`) with config entries on top.
 * A config entry replaces the relay price of a model and keeps the built-in official price unless it
 * gives one. Keys may contain `*` (`mock-*`, `my-finetune-*`); an exact name wins over a pattern, and
 * a longer pattern over a shorter one. `*` matches any characters, line breaks included.
 *
 * A name without an entry of its own that is a vendor's name or dated snapshot of another is priced
 * as that one: first the name it is a snapshot of (`claude-opus-4-1-20250805` → an entry
 * `claude-opus-4-1`), then the catalog model it names (`claude-sonnet-4-5-20250929` →
 * `claude-sonnet-4.5`; `catalogModelOf`).
 */
export class PriceTable {
  private readonly exact = new Map<string, ModelPrice>();
  private readonly patterns: { expression: RegExp; price: ModelPrice }[] = [];
  /** What `price` found for names without an exact entry (`null`: unpriced), the oldest dropped first. */
  private readonly lookups = new Map<string, ModelPrice | null>();

  constructor(overrides: Readonly<Record<string, PriceSettings>> = {}, defaults: Readonly<Record<string, PriceSettings>> = defaultPrices) {
    const resolved = new Map<string, ResolvedSettings>();
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
      this.patterns.push({ expression: new RegExp(`^${source}$`, 's'), price });
    }
  }

  /**
   * The price of `model`, or `undefined` when it is unpriced. Unpriced is not free: callers refuse
   * metered keys for such a model rather than charge zero.
   */
  price(model: string): ModelPrice | undefined {
    const exact = this.exact.get(model);
    if (exact !== undefined) return exact;
    const known = this.lookups.get(model);
    if (known !== undefined) return known ?? undefined;
    const found = this.entryPrice(model) ?? this.versionPrice(model);
    if (this.lookups.size >= lookupsKept) this.lookups.delete(this.lookups.keys().next().value as string);
    this.lookups.set(model, found ?? null);
    return found;
  }

  /** The price of the name's own entry, exact or a pattern. */
  private entryPrice(model: string): ModelPrice | undefined {
    return this.exact.get(model) ?? this.patterns.find((pattern) => pattern.expression.test(model))?.price;
  }

  /** The price of the model a name is a dated snapshot or vendor's name of. */
  private versionPrice(model: string): ModelPrice | undefined {
    const undated = undatedName(model);
    const own = undated === undefined ? undefined : this.entryPrice(undated);
    if (own !== undefined) return own;
    const catalog = catalogModelOf(model);
    return catalog === undefined ? undefined : this.entryPrice(catalog.id);
  }
}

/**
 * The cost of one request, exactly. Cached tokens are part of `promptTokens` and billed at the cached
 * price (a cached count above `promptTokens` is capped at it); cache-write tokens are part of the
 * rest and billed at the cache-write price, the 1-hour ones at theirs (each count capped at what is
 * left of the prompt, of the writes). The sum is computed in BigInt as
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
  const written = Math.min(tokenCount(usage.cacheWriteTokens ?? 0, 'cacheWriteTokens'), prompt - cached);
  const written1h = Math.min(tokenCount(usage.cacheWrite1hTokens ?? 0, 'cacheWrite1hTokens'), written);
  const uncached = prompt - cached - written;
  const written5m = written - written1h;
  const { relay, official } = price;
  return {
    costMicros: convertMicros(
      usdMicrosOf(uncached, relay.input, cached, relay.cached, written5m, relay.cacheWrite, written1h, relay.cacheWrite1h, completion, relay.output),
      'USD',
      currency,
      rates,
    ),
    officialCostMicros: convertMicros(
      usdMicrosOf(uncached, official.input, cached, official.cached, written5m, official.cacheWrite, written1h, official.cacheWrite1h, completion, official.output),
      'USD',
      currency,
      rates,
    ),
  };
}

/**
 * How long a request's prompt may be kept in the prompt cache: the longest lifetime its cache
 * breakpoints ask for (`ttl`: Anthropic's default is 5 minutes, `1h` is written at its own price).
 */
export type CacheWriteLifetime = '5m' | '1h';

/**
 * The relay's price of a request in micro-USD, its prompt at the dearest price a prompt token can
 * have: a reservation's worst case. Every prompt token may be written to the prompt cache when the
 * request marks a cache breakpoint (`mayWriteCache`, the longest lifetime asked for), so it is then
 * priced at the dearest of the input, cached and cache-write prices of that lifetime (the 5-minute
 * write price, or also the 1-hour one when a breakpoint asks for an hour); else at the dearer of
 * input and cached.
 * A worst case beyond what a number holds exactly (a `max_tokens` of 2^53) is held as
 * `Number.MAX_SAFE_INTEGER`, more than any budget or balance: such a request is refused, never
 * priced by a rounded number.
 */
export function relayCostMicros(promptTokens: number, completionTokens: number, price: ModelPrice, mayWriteCache?: CacheWriteLifetime): number {
  const prompt = tokenCount(promptTokens, 'promptTokens');
  const completion = tokenCount(completionTokens, 'completionTokens');
  const prices = price.relay;
  const read = Math.max(prices.input, prices.cached);
  const promptPrice = mayWriteCache === undefined ? read : Math.max(read, prices.cacheWrite, mayWriteCache === '1h' ? prices.cacheWrite1h : 0);
  try {
    return usdMicrosOf(prompt, promptPrice, 0, 0, 0, 0, 0, 0, completion, prices.output);
  } catch (error) {
    if (error instanceof RangeError) return Number.MAX_SAFE_INTEGER;
    throw error;
  }
}

/** Whether a prompt token of this model may cost more written to the prompt cache (for `lifetime`, or for any) than read as input (worth looking for breakpoints). */
export function writesCostMore(price: ModelPrice, lifetime?: CacheWriteLifetime): boolean {
  const prices = price.relay;
  return Math.max(prices.cacheWrite, lifetime === '5m' ? 0 : prices.cacheWrite1h) > Math.max(prices.input, prices.cached);
}

/**
 * Σ tokens × price per million tokens (five classes, each count with its price), in micro-USD
 * rounded up. Exact either way: in Numbers while every product and the sum stay integers below
 * 2^53 (any real request), else in BigInts. Positional, so a request's cost allocates nothing.
 */
function usdMicrosOf(t1: number, p1: number, t2: number, p2: number, t3: number, p3: number, t4: number, p4: number, t5: number, p5: number): number {
  const a = t1 * p1;
  const b = t2 * p2;
  const c = t3 * p3;
  const d = t4 * p4;
  const e = t5 * p5;
  const scaled = a + b + c + d + e;
  if (Number.isSafeInteger(scaled) && Number.isSafeInteger(a) && Number.isSafeInteger(b) && Number.isSafeInteger(c) && Number.isSafeInteger(d) && Number.isSafeInteger(e)) {
    let quotient = Math.floor(scaled / 1_000_000);
    // Floating division may land one off near an integer: products of integers below 2^53 are exact and decide.
    if (quotient * 1_000_000 > scaled) quotient--;
    else if ((quotient + 1) * 1_000_000 <= scaled) quotient++;
    return quotient * 1_000_000 < scaled ? quotient + 1 : quotient;
  }
  const big = BigInt(t1) * BigInt(p1) + BigInt(t2) * BigInt(p2) + BigInt(t3) * BigInt(p3) + BigInt(t4) * BigInt(p4) + BigInt(t5) * BigInt(p5);
  return toSafeNumber(divideRoundingUp(big, microsPerMillionTokens), 'cost');
}

function tokenCount(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative integer, got ${value}`);
  return value;
}

/** A price as config gives it, or `undefined` where it is derived from the input price once held in micro-units. */
interface ResolvedSettings {
  input: number;
  output: number;
  cached: number;
  cacheWrite: number | undefined;
  cacheWrite1h: number | undefined;
  officialInput: number;
  officialOutput: number;
  officialCached: number;
  officialCacheWrite: number | undefined;
  officialCacheWrite1h: number | undefined;
}

function resolveSettings(entry: string, settings: PriceSettings, base: ResolvedSettings | undefined): ResolvedSettings {
  const input = usd(entry, 'input', settings.input);
  const output = usd(entry, 'output', settings.output);
  const officialInput = usd(entry, 'officialInput', settings.officialInput ?? base?.officialInput ?? input);
  // The built-in official prices hold unless the entry gives its own official input price.
  const officialBase = settings.officialInput === undefined ? base : undefined;
  return {
    input,
    output,
    cached: usd(entry, 'cached', settings.cached ?? input),
    cacheWrite: optionalUsd(entry, 'cacheWrite', settings.cacheWrite),
    cacheWrite1h: optionalUsd(entry, 'cacheWrite1h', settings.cacheWrite1h),
    officialInput,
    officialOutput: usd(entry, 'officialOutput', settings.officialOutput ?? base?.officialOutput ?? output),
    officialCached: usd(entry, 'officialCached', settings.officialCached ?? officialBase?.officialCached ?? officialInput),
    officialCacheWrite: optionalUsd(entry, 'officialCacheWrite', settings.officialCacheWrite ?? officialBase?.officialCacheWrite),
    officialCacheWrite1h: optionalUsd(entry, 'officialCacheWrite1h', settings.officialCacheWrite1h ?? officialBase?.officialCacheWrite1h),
  };
}

function usd(entry: string, field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new RangeError(`prices.${entry}.${field} must be a non-negative number of USD per 1M tokens, got ${String(value)}`);
  }
  return value;
}

function optionalUsd(entry: string, field: string, value: unknown): number | undefined {
  return value === undefined ? undefined : usd(entry, field, value);
}

function toModelPrice(entry: string, settings: ResolvedSettings): ModelPrice {
  const micros = (value: number): number => toSafeNumber(toScaledInteger(value, 6), `price of ${entry}`);
  const multipliers = cacheWriteMultipliersOf(entry);
  const prices = (input: number, output: number, cached: number, cacheWrite: number | undefined, cacheWrite1h: number | undefined): TokenPrices => {
    const inputMicros = micros(input);
    const writeMicros = cacheWrite !== undefined ? micros(cacheWrite) : multipliers === undefined ? inputMicros : times(inputMicros, multipliers.fiveMinutes, entry);
    const write1hMicros = cacheWrite1h !== undefined ? micros(cacheWrite1h) : multipliers === undefined ? writeMicros : times(inputMicros, multipliers.oneHour, entry);
    return { input: inputMicros, output: micros(output), cached: micros(cached), cacheWrite: writeMicros, cacheWrite1h: write1hMicros };
  };
  return {
    entry,
    relay: prices(settings.input, settings.output, settings.cached, settings.cacheWrite, settings.cacheWrite1h),
    official: prices(settings.officialInput, settings.officialOutput, settings.officialCached, settings.officialCacheWrite, settings.officialCacheWrite1h),
  };
}

function cacheWriteMultipliersOf(entry: string): CacheWriteMultipliers | undefined {
  return cacheWriteMultipliers.find((rule) => entry.startsWith(rule.prefix));
}

/**
 * A price in micro-USD per 1M tokens times an exact fraction: exact for any price of up to four
 * decimals (Anthropic's ×1.25 of $3 is $3.75), else rounded up to the next micro-USD per 1M tokens
 * (a millionth of a micro-USD per token), so a derived price is never below the vendor's multiple.
 */
function times(micros: number, [numerator, denominator]: readonly [number, number], entry: string): number {
  return toSafeNumber(divideRoundingUp(BigInt(micros) * BigInt(numerator), BigInt(denominator)), `price of ${entry}`);
}
