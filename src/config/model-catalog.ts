/**
 * The models the relay knows without any configuration, and the seed's alias table. Prices come
 * with the metering work; here a model is its name, its vendor, and the name each direct upstream
 * knows it by when that differs from the relay's name.
 */

export type Vendor = 'openai' | 'anthropic' | 'google' | 'deepseek';

export interface CatalogModel {
  id: string;
  vendor: Vendor;
  /** The name a vendor's own API uses, when the relay's public name differs (HolySheep uses the public name). */
  vendorName?: string;
  /** Fields the vendor's own API needs to serve the model as the public name means it (a mode of a newer model). */
  vendorBody?: Readonly<Record<string, unknown>>;
  /**
   * Vendor names of other models the vendor lists at exactly this model's prices (Claude Opus 4.1 at
   * Opus 4's): priced as this model, their dated snapshots too, when the price table has no entry of
   * their own (`catalogModelOf`). Never a guess: only a model whose list prices match this one's.
   */
  pricedAlike?: readonly string[];
  /** Dated snapshots of this model the vendor prices apart from it: never priced as this model. */
  snapshotsPricedApart?: readonly string[];
}

export const defaultCatalog: readonly CatalogModel[] = [
  { id: 'gpt-4.1', vendor: 'openai' },
  { id: 'gpt-4.1-mini', vendor: 'openai' },
  // GPT-4o's first snapshot is dearer than the model ($5 and $15 per 1M tokens against $2.50 and $10).
  // https://platform.openai.com/docs/pricing
  { id: 'gpt-4o', vendor: 'openai', snapshotsPricedApart: ['gpt-4o-2024-05-13'] },
  { id: 'gpt-4o-mini', vendor: 'openai' },
  { id: 'gpt-3.5-turbo', vendor: 'openai' },
  { id: 'o3-mini', vendor: 'openai' },
  { id: 'text-embedding-3-small', vendor: 'openai' },
  { id: 'text-embedding-3-large', vendor: 'openai' },
  { id: 'claude-sonnet-4', vendor: 'anthropic', vendorName: 'claude-sonnet-4-0' },
  { id: 'claude-sonnet-4.5', vendor: 'anthropic', vendorName: 'claude-sonnet-4-5' },
  // Anthropic lists Opus 4.1 at Opus 4's prices: $15 input, $75 output, $18.75 and $30 cache writes, $1.50 cache hits.
  // https://platform.claude.com/docs/en/about-claude/pricing
  { id: 'claude-opus-4', vendor: 'anthropic', vendorName: 'claude-opus-4-0', pricedAlike: ['claude-opus-4-1'] },
  { id: 'claude-haiku-4.5', vendor: 'anthropic', vendorName: 'claude-haiku-4-5' },
  { id: 'gemini-2.5-flash', vendor: 'google' },
  { id: 'gemini-2.5-pro', vendor: 'google' },
  // DeepSeek retired the names deepseek-chat and deepseek-reasoner on 2026-07-24 (both had come to
  // mean its current Flash model, without and with thinking): its API now serves them as
  // deepseek-flash with thinking off or on (thinking is on unless a request turns it off).
  // https://api-docs.deepseek.com/quick_start/pricing, https://api-docs.deepseek.com/guides/thinking_mode
  { id: 'deepseek-v3.2', vendor: 'deepseek', vendorName: 'deepseek-flash', vendorBody: { thinking: { type: 'disabled' } } },
  { id: 'deepseek-reasoner', vendor: 'deepseek', vendorName: 'deepseek-flash', vendorBody: { thinking: { type: 'enabled' } } },
];

/** The catalog's models by their relay names. */
export const catalogModels: ReadonlyMap<string, CatalogModel> = new Map(defaultCatalog.map((model) => [model.id, model]));

/** A catalog model's other names at its vendor (`vendorName`, `pricedAlike`); a name two models share (`deepseek-flash`) is left out. */
const byVendorName: ReadonlyMap<string, CatalogModel> = (() => {
  const found = new Map<string, CatalogModel | null>();
  for (const model of defaultCatalog) {
    for (const name of [model.vendorName, ...(model.pricedAlike ?? [])]) {
      if (name !== undefined && name !== model.id) found.set(name, found.has(name) ? null : model);
    }
  }
  return new Map([...found].filter((entry): entry is [string, CatalogModel] => entry[1] !== null));
})();

const snapshotsPricedApart = new Set(defaultCatalog.flatMap((model) => model.snapshotsPricedApart ?? []));

/**
 * The name a vendor's dated snapshot or `-latest` name is a version of: `claude-sonnet-4-5-20250929`
 * → `claude-sonnet-4-5`, `gpt-4.1-2025-04-14` → `gpt-4.1`, `claude-3-5-haiku-latest` →
 * `claude-3-5-haiku`; undefined for any other name, and for a snapshot the catalog knows is priced
 * apart. Gemini's previews (`gemini-2.5-flash-preview-05-20`) are not versions of the model they
 * became: they were priced apart ($0.15 and $0.60, $3.50 for thinking, against $0.30 and $2.50).
 */
export function undatedName(model: string): string | undefined {
  if (snapshotsPricedApart.has(model)) return undefined;
  return /^(.+?)-(?:latest|20\d{6}|20\d{2}-\d{2}-\d{2})$/.exec(model)?.[1];
}

/** Client-chosen names are unbounded: the lookup keeps at most this many. */
const catalogLookupsKept = 1024;
const catalogLookups = new Map<string, CatalogModel | null>();

/**
 * The catalog model a vendor's name for it, or a dated snapshot of one, names: `claude-sonnet-4-5`
 * and `claude-sonnet-4-5-20250929` → `claude-sonnet-4.5` (the reverse of `vendorName`),
 * `gpt-4.1-2025-04-14` → `gpt-4.1`, `claude-opus-4-1-20250805` → `claude-opus-4` (`pricedAlike`).
 * Undefined for any other name: the seed's aliases say which model serves an old name, not that it
 * costs the same (`gpt-4-turbo` is no GPT-4.1 at GPT-4.1's prices), so they are not followed.
 */
export function catalogModelOf(model: string): CatalogModel | undefined {
  const cached = catalogLookups.get(model);
  if (cached !== undefined) return cached ?? undefined;
  const name = undatedName(model) ?? model;
  const found = catalogModels.get(name) ?? byVendorName.get(name);
  if (catalogLookups.size >= catalogLookupsKept) catalogLookups.delete(catalogLookups.keys().next().value as string);
  catalogLookups.set(model, found ?? null);
  return found;
}

/**
 * The seed's `MODEL_MAPPINGS`: names applications already use → the model that serves them.
 * Identity entries of the seed (`gpt-3.5-turbo`) are served models, not aliases.
 */
export const defaultAliases: Readonly<Record<string, string>> = {
  'gpt-4': 'gpt-4.1',
  'gpt-4-turbo': 'gpt-4.1',
  'claude-3-sonnet': 'claude-sonnet-4',
  'claude-3-opus': 'claude-opus-4',
  'gemini-pro': 'gemini-2.5-flash',
  'deepseek-chat': 'deepseek-v3.2',
};

/** Which vendor's family a model name belongs to, by the prefixes each vendor uses. */
export function vendorOf(model: string): Vendor | undefined {
  if (model.startsWith('gemini-') || model.startsWith('gemma-') || model === 'text-embedding-004') return 'google';
  if (/^(gpt-|chatgpt-|o\d|text-embedding-|davinci|babbage|omni-moderation|dall-e|whisper|tts-)/.test(model)) return 'openai';
  if (model.startsWith('claude-')) return 'anthropic';
  if (model.startsWith('deepseek-')) return 'deepseek';
  return undefined;
}
