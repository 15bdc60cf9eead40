import { knownOutputLimit } from '../model-output-limits.js';
import { claudeVersion } from './anthropic-thinking.js';

/**
 * For Claude names the table of known limits does not list (a later version, a dated alias of a
 * new family member): the limit of the family's first models, which its later ones only raised.
 * The first pattern that matches wins.
 * @see https://docs.anthropic.com/en/docs/about-claude/models/overview#model-comparison-table
 */
const familyFloors: ReadonlyArray<readonly [RegExp, number]> = [
  [/claude-(opus-4|4-opus)/, 32_000],
  [/claude-(sonnet-4|4-sonnet|3-7-sonnet)/, 64_000],
  [/claude-haiku-4/, 64_000],
  [/claude-3-5-(sonnet|haiku)/, 8_192],
  [/claude-3-/, 4_096],
];

/**
 * For Claude 4.6 and later, whose limits are not listed (Opus 4.6 and 4.7 take 128000, Sonnet 4.6
 * 64000): a model of a later version that takes less says so in its refusal, and the request goes
 * again with its limit (`AnthropicProvider`), remembered for the next ones.
 */
const laterModelsLimit = 64_000;

/** For a Claude model nobody has told us about: small enough that every Claude model accepts it. */
const fallbackLimit = 4_096;

/**
 * The `max_tokens` sent when an OpenAI client gave none. Anthropic requires the field while
 * OpenAI treats its absence as "as long as the model can go", so the model's own output limit is
 * the faithful translation (a smaller default would cut answers OpenAI would have finished).
 * @see https://docs.anthropic.com/en/api/messages#body-max-tokens
 */
export function defaultAnthropicMaxTokens(model: string): number {
  const known = knownOutputLimit(model);
  if (known !== undefined) return known;
  // Claude 4.6 and every later version, of any family: 64000 or more (Opus 4.6 and 4.7 128000, Sonnet 4.6 64000).
  const version = claudeVersion(model);
  if (version !== undefined && (version.major > 4 || (version.major === 4 && version.minor >= 6))) return laterModelsLimit;
  for (const [pattern, limit] of familyFloors) if (pattern.test(model)) return limit;
  return fallbackLimit;
}
