import type { ChatResult, JsonResult, Provider, ProviderCall, ProviderOptions, RawStream, StreamPart } from '../provider.js';
import type { ChatRequest } from '../../spec/openai-chat.js';

/** Placeholder until the Anthropic adapter lands. */
export class AnthropicProvider implements Provider {
  readonly type = 'anthropic';
  readonly name: string;

  constructor(options: ProviderOptions) {
    this.name = options.name;
  }

  chat(_request: ChatRequest, _model: string, _call: ProviderCall): Promise<ChatResult> {
    throw new Error('not implemented');
  }

  chatStream(_request: ChatRequest, _model: string, _call: ProviderCall): Promise<AsyncIterator<StreamPart>> {
    throw new Error('not implemented');
  }

  embeddings(_body: Record<string, unknown>, _model: string, _call: ProviderCall): Promise<JsonResult> {
    throw new Error('not implemented');
  }

  completions(_body: Record<string, unknown>, _model: string, _call: ProviderCall): Promise<JsonResult | RawStream> {
    throw new Error('not implemented');
  }
}
