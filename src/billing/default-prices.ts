import type { PriceSettings } from './price-table.js';

/**
 * The prices the relay starts with, in USD per 1M tokens, keyed by the relay's model names
 * (`src/config/model-catalog.ts`). These are defaults to edit in config (`prices:` overrides any
 * entry), not a promise about any upstream's bill.
 *
 * How they were chosen:
 * - The seed's table gives one $/MTok figure per model (GPT-4.1 $8.00 → $0.15, Claude Sonnet 4.5
 *   $15.00 → $0.15, Gemini 2.5 Flash $2.50 → $0.15, DeepSeek V3.2 $0.42 → $0.15). Each figure is
 *   used for input and output alike, and the input price for cached input.
 * - The seed's official figures are the vendors' output list prices, so the other models follow the
 *   same pattern: official = the vendor's output list price (early 2026), relay = the seed's flat
 *   $0.15, or the official price when that is lower (embeddings), so the relay never charges more
 *   than the vendor.
 * - Cache writes: Anthropic bills a prompt token written to its prompt cache at 1.25× the input
 *   price (5-minute cache) or 2× (1-hour cache), so a Claude model's entry writes at those multiples
 *   of its input price, relay and official alike (`cacheWriteMultipliers`; $0.15 → $0.1875 and
 *   $0.30, Sonnet 4.5's official $15 → $18.75 and $30). OpenAI, Gemini and DeepSeek bill no write
 *   apart from input: their writes cost as input.
 * - `mock-*` models cost 0 explicitly, so a first run with metered keys works against the built-in
 *   mock. A model missing from the table is unpriced, which is not the same as free: metered keys
 *   are refused for it. (A vendor's name or dated snapshot of a model here, `claude-sonnet-4-5` or
 *   `gpt-4.1-2025-04-14`, is priced as that model: `PriceTable`.)
 */
export const defaultPrices: Readonly<Record<string, PriceSettings>> = {
  // The seed's table.
  'gpt-4.1': flat(0.15, 8.0),
  'claude-sonnet-4.5': flat(0.15, 15.0),
  'gemini-2.5-flash': flat(0.15, 2.5),
  'deepseek-v3.2': flat(0.15, 0.42),
  // The rest of the catalog, by the same pattern.
  'gpt-4.1-mini': flat(0.15, 1.6),
  'gpt-4o': flat(0.15, 10.0),
  'gpt-4o-mini': flat(0.15, 0.6),
  'gpt-3.5-turbo': flat(0.15, 1.5),
  'o3-mini': flat(0.15, 4.4),
  'text-embedding-3-small': flat(0.02, 0.02),
  'text-embedding-3-large': flat(0.13, 0.13),
  'claude-sonnet-4': flat(0.15, 15.0),
  'claude-opus-4': flat(0.15, 75.0),
  'claude-haiku-4.5': flat(0.15, 5.0),
  'gemini-2.5-pro': flat(0.15, 10.0),
  'deepseek-reasoner': flat(0.15, 0.42),
  // OpenAI's moderation models cost nothing (moderations are counted as requests, never as tokens).
  'omni-moderation-*': flat(0, 0),
  // The built-in mock upstream: free, and priced so that metered keys may use it.
  'mock-*': flat(0, 0),
};

/** One relay figure and one official figure for input, output and cached input alike. */
function flat(relay: number, official: number): PriceSettings {
  return { input: relay, output: relay, cached: relay, officialInput: official, officialOutput: official, officialCached: official };
}

/** A vendor's cache-write prices as exact fractions of its input price, for the entries named with its prefix. */
export interface CacheWriteMultipliers {
  prefix: string;
  /** Tokens written to a 5-minute cache (and writes the usage does not split). */
  fiveMinutes: readonly [numerator: number, denominator: number];
  /** Tokens written to a 1-hour cache. */
  oneHour: readonly [numerator: number, denominator: number];
}

/**
 * Vendors whose cache writes cost more than input: every price entry named `claude-…` (built in or
 * in config) that gives no `cacheWrite`/`cacheWrite1h` of its own derives them from its input price.
 * @see https://platform.claude.com/docs/en/about-claude/pricing (5m cache writes 1.25×, 1h cache writes 2× base input)
 */
export const cacheWriteMultipliers: readonly CacheWriteMultipliers[] = [{ prefix: 'claude-', fiveMinutes: [5, 4], oneHour: [2, 1] }];
