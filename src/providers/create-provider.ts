import type { Dispatcher } from 'undici';
import { AnthropicProvider } from './anthropic/anthropic-provider.js';
import type { ThinkingBlockCache } from './anthropic/anthropic-thinking.js';
import { GeminiProvider } from './gemini/gemini-provider.js';
import { MockProvider } from './mock/mock-provider.js';
import { OpenAICompatibleProvider } from './openai-compatible/openai-compatible-provider.js';
import type { Provider } from './provider.js';

export interface ProviderDefinition {
  name: string;
  type: string;
  baseUrl: string;
  apiKey: string | undefined;
  headers: Record<string, string>;
  /** OpenAI-compatible only: whether streams ask for usage. */
  streamUsage?: boolean;
  /** OpenAI-compatible only: whether the upstream serves the Responses API. */
  responsesApi?: boolean;
}

/** What the providers of one process share: Claude's thinking of tool calls, for the turns that continue them. */
export interface SharedProviderState {
  thinkingBlocks: ThinkingBlockCache;
}

/** Builds the adapter for one configured upstream; the type picks the wire format. */
export function createProvider(definition: ProviderDefinition, dispatcher: Dispatcher, shared?: SharedProviderState): Provider {
  const options = { ...definition, dispatcher };
  switch (definition.type) {
    case 'openai':
      return new OpenAICompatibleProvider(options, { streamUsage: definition.streamUsage ?? true, responsesApi: definition.responsesApi ?? false });
    case 'anthropic':
      return new AnthropicProvider(options, shared?.thinkingBlocks);
    case 'gemini':
      return new GeminiProvider(options);
    case 'mock':
      return new MockProvider();
    default:
      throw new Error(`provider "${definition.name}": type "${definition.type}" is not supported by this build`);
  }
}
