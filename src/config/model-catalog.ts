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
}

export const defaultCatalog: readonly CatalogModel[] = [
  { id: 'gpt-4.1', vendor: 'openai' },
  { id: 'gpt-4.1-mini', vendor: 'openai' },
  { id: 'gpt-4o', vendor: 'openai' },
  { id: 'gpt-4o-mini', vendor: 'openai' },
  { id: 'gpt-3.5-turbo', vendor: 'openai' },
  { id: 'o3-mini', vendor: 'openai' },
  { id: 'text-embedding-3-small', vendor: 'openai' },
  { id: 'text-embedding-3-large', vendor: 'openai' },
  { id: 'claude-sonnet-4', vendor: 'anthropic', vendorName: 'claude-sonnet-4-0' },
  { id: 'claude-sonnet-4.5', vendor: 'anthropic', vendorName: 'claude-sonnet-4-5' },
  { id: 'claude-opus-4', vendor: 'anthropic', vendorName: 'claude-opus-4-0' },
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
