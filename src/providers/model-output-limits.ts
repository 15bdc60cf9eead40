/**
 * The most output tokens a model can produce in one answer, by the name an upstream receives.
 *
 * A value here is the vendor's own limit for that model. An aggregator that serves the model under
 * the same name (HolySheep uses the public names) cannot go beyond it, so lowering a request's
 * `max_tokens` to this value never cuts an answer the upstream would have given. A model is listed
 * only when its vendor's documentation gives the limit, and only under names that always mean that
 * one model: a name whose limit differs between snapshots, or that a vendor moved to another model,
 * is left out (DeepSeek's `deepseek-chat`, for one, was 8K under V3.x and 384K once it pointed to
 * V4-Flash), as is a name whose upstream is unknown (HolySheep's `deepseek-v3.2`). Unlisted names
 * are never lowered; an operator gives their limit with `maxOutputTokens` on a route's target.
 */

/**
 * OpenAI's models, each by its alias and the dated snapshots that share its limit. `gpt-4o` is not
 * matched by prefix: its first snapshot, `gpt-4o-2024-05-13`, stops at 4,096 tokens.
 * @see https://developers.openai.com/api/docs/models/gpt-4o (16,384 max output tokens)
 * @see https://developers.openai.com/api/docs/models/gpt-4o-mini (16,384)
 * @see https://developers.openai.com/api/docs/models/gpt-4.1 (32,768; also gpt-4.1-mini, gpt-4.1-nano)
 * @see https://developers.openai.com/api/docs/models/gpt-3.5-turbo (4,096)
 */
const openai: ReadonlyArray<readonly [readonly string[], number]> = [
  [['gpt-4o', 'gpt-4o-2024-08-06', 'gpt-4o-2024-11-20'], 16_384],
  [['gpt-4o-mini', 'gpt-4o-mini-2024-07-18'], 16_384],
  [['gpt-4.1', 'gpt-4.1-2025-04-14', 'gpt-4.1-mini', 'gpt-4.1-mini-2025-04-14', 'gpt-4.1-nano', 'gpt-4.1-nano-2025-04-14'], 32_768],
  [['gpt-3.5-turbo', 'gpt-3.5-turbo-0125'], 4_096],
];

/**
 * Google's Gemini text models (the Gemini API's limits; Vertex AI's pages say 65,535 for some
 * versions). Image, audio and live models are not listed: their limits differ and are not confirmed
 * here. A name Google now routes to a later model (`gemini-3.5-flash` → `gemini-3.6-flash`) is
 * listed only when every model it has meant shares its limit.
 * @see https://ai.google.dev/gemini-api/docs/models#gemini-2.5-flash (output token limit 65,536)
 * @see https://ai.google.dev/gemini-api/docs/models#gemini-2.5-pro (65,536)
 * @see https://ai.google.dev/gemini-api/docs/models/gemini-2.5-flash-lite (65,536)
 * @see https://ai.google.dev/gemini-api/docs/models/gemini-3-flash-preview (65,536)
 * @see https://ai.google.dev/gemini-api/docs/models/gemini-3.1-pro-preview (65,536)
 * @see https://docs.cloud.google.com/gemini-enterprise-agent-platform/models/guides/gemini-3-5-flash (gemini-3.1-flash-lite: 65,536)
 * @see https://ai.google.dev/gemini-api/docs/models/gemini-3.5-flash (65,536; routed to gemini-3.6-flash)
 * @see https://ai.google.dev/gemini-api/docs/models/gemini-3.5-flash-lite (65,536)
 * @see https://ai.google.dev/gemini-api/docs/models/gemini-3.6-flash (65,536)
 * @see https://docs.cloud.google.com/gemini-enterprise-agent-platform/models/guides/gemini-3-8-flash (gemini-3.7-flash and gemini-3.8-flash: 65,536)
 */
const gemini: ReadonlyArray<readonly [readonly string[], number]> = [
  [
    [
      'gemini-2.5-flash',
      'gemini-2.5-pro',
      'gemini-2.5-flash-lite',
      'gemini-3-flash-preview',
      'gemini-3.1-pro-preview',
      'gemini-3.1-flash-lite',
      'gemini-3.5-flash',
      'gemini-3.5-flash-lite',
      'gemini-3.6-flash',
      'gemini-3.7-flash',
      'gemini-3.8-flash',
    ],
    65_536,
  ],
];

/**
 * Anthropic's Claude models, by their names without the date, `-latest` or `-0` (and with the
 * relay's dotted public names, `claude-sonnet-4.5`, read as `claude-sonnet-4-5`). Later versions
 * (Opus 4.6 and after) are not listed: their limits are larger and not confirmed here.
 * @see https://docs.anthropic.com/en/docs/about-claude/models/overview#model-comparison-table
 */
const claude: ReadonlyArray<readonly [readonly string[], number]> = [
  [['claude-opus-4', 'claude-opus-4-1'], 32_000],
  [['claude-opus-4-5', 'claude-sonnet-4', 'claude-sonnet-4-5', 'claude-haiku-4-5', 'claude-3-7-sonnet'], 64_000],
  [['claude-3-5-sonnet', 'claude-3-5-haiku'], 8_192],
  [['claude-3-opus', 'claude-3-sonnet', 'claude-3-haiku'], 4_096],
];

const limits = new Map<string, number>([...openai, ...gemini, ...claude].flatMap(([names, limit]) => names.map((name) => [name, limit] as const)));

/** A Claude name without its date (`-20250514`), `-latest` or `-0`, and with dots as dashes. */
function claudeName(model: string): string {
  return model.replaceAll('.', '-').replace(/-(\d{8}|latest)$/, '').replace(/-0$/, '');
}

/** The known output limit of the model an upstream receives under this name, if any. */
export function knownOutputLimit(model: string): number | undefined {
  const name = model.toLowerCase();
  return limits.get(name) ?? (name.startsWith('claude-') ? limits.get(claudeName(name)) : undefined);
}
