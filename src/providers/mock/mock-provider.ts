import { createHash, randomUUID } from 'node:crypto';
import type { ChatCompletion, ChatCompletionChunk, ChatMessage, ChatRequest, Usage } from '../../spec/openai-chat.js';
import type { ChatResult, JsonResult, Provider, ProviderCall, RawStream, StreamPart } from '../provider.js';

/**
 * The built-in upstream of a first run: serves `mock-*` models when no real upstream is configured,
 * so the README's first request works on a fresh machine. It answers with a fixed sentence that
 * quotes the last user message, streams it word by word, and reports usage like OpenAI does.
 */
export class MockProvider implements Provider {
  readonly type = 'mock';
  readonly name = 'mock';

  async chat(chatRequest: ChatRequest, model: string): Promise<ChatResult> {
    const text = answerFor(chatRequest.messages);
    const completion: ChatCompletion = {
      id: `chatcmpl-mock-${randomUUID()}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model,
      choices: [{ index: 0, message: { role: 'assistant', content: text, refusal: null }, finish_reason: 'stop', logprobs: null }],
      usage: usageFor(chatRequest.messages, text),
    };
    return { kind: 'json', body: Buffer.from(JSON.stringify(completion)), usage: completion.usage, completion: () => completion };
  }

  async chatStream(chatRequest: ChatRequest, model: string, call: ProviderCall): Promise<AsyncIterator<StreamPart>> {
    const text = answerFor(chatRequest.messages);
    const usage = usageFor(chatRequest.messages, text);
    const base = { id: `chatcmpl-mock-${randomUUID()}`, object: 'chat.completion.chunk' as const, created: Math.floor(Date.now() / 1000), model };
    const words = text.split(/(?<= )/);
    async function* parts(): AsyncGenerator<StreamPart> {
      const first: ChatCompletionChunk = { ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] };
      yield { data: JSON.stringify(first) };
      for (const word of words) {
        if (call.signal.aborted) return;
        yield { data: JSON.stringify({ ...base, choices: [{ index: 0, delta: { content: word }, finish_reason: null }] }) };
      }
      yield { data: JSON.stringify({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }) };
      yield { data: JSON.stringify({ ...base, choices: [], usage }), usage, usageOnly: true };
    }
    return parts();
  }

  async embeddings(body: Record<string, unknown>, model: string): Promise<JsonResult> {
    const inputs = Array.isArray(body.input) ? body.input : [body.input];
    const dimensions = typeof body.dimensions === 'number' && body.dimensions > 0 ? Math.min(body.dimensions, 3072) : 8;
    const data = inputs.map((input, index) => ({ object: 'embedding', index, embedding: vectorFor(JSON.stringify(input), dimensions) }));
    const promptTokens = inputs.reduce<number>((sum, input) => sum + estimateTokens(JSON.stringify(input)), 0);
    const usage: Usage = { prompt_tokens: promptTokens, completion_tokens: 0, total_tokens: promptTokens };
    const answer = { object: 'list', data, model, usage: { prompt_tokens: promptTokens, total_tokens: promptTokens } };
    return { kind: 'json', body: Buffer.from(JSON.stringify(answer)), usage };
  }

  async completions(body: Record<string, unknown>, model: string): Promise<JsonResult | RawStream> {
    const prompt = typeof body.prompt === 'string' ? body.prompt : JSON.stringify(body.prompt ?? '');
    const text = ` This is the relay's built-in mock completing: ${prompt.slice(0, 200)}`;
    const usage: Usage = { prompt_tokens: estimateTokens(prompt), completion_tokens: estimateTokens(text), total_tokens: 0 };
    usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
    const id = `cmpl-mock-${randomUUID()}`;
    const created = Math.floor(Date.now() / 1000);
    if (body.stream === true) {
      const events = [
        `data: ${JSON.stringify({ id, object: 'text_completion', created, model, choices: [{ index: 0, text, finish_reason: null, logprobs: null }] })}\n\n`,
        `data: ${JSON.stringify({ id, object: 'text_completion', created, model, choices: [{ index: 0, text: '', finish_reason: 'stop', logprobs: null }] })}\n\n`,
        'data: [DONE]\n\n',
      ];
      return { kind: 'raw-stream', contentType: 'text/event-stream', body: (async function* () { for (const event of events) yield Buffer.from(event); })() };
    }
    const answer = { id, object: 'text_completion', created, model, choices: [{ index: 0, text, finish_reason: 'stop', logprobs: null }], usage };
    return { kind: 'json', body: Buffer.from(JSON.stringify(answer)), usage };
  }
}

function lastUserText(messages: ChatMessage[]): string {
  for (let index = messages.length - 1; index >= 0; index--) {
    const message = messages[index];
    if (message?.role !== 'user') continue;
    if (typeof message.content === 'string') return message.content;
    if (Array.isArray(message.content)) return message.content.map((part) => part.text ?? '').join(' ');
  }
  return '';
}

function answerFor(messages: ChatMessage[]): string {
  const said = lastUserText(messages).replace(/\s+/g, ' ').trim().slice(0, 200);
  return `This is the relay's built-in mock model. You said: "${said}". Configure an upstream (for example HOLYSHEEP_API_KEY) to get real answers.`;
}

/** About four characters a token, the usual rule of thumb for English text. */
function estimateTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

function usageFor(messages: ChatMessage[], answer: string): Usage {
  const prompt = messages.reduce((sum, message) => sum + 4 + estimateTokens(typeof message.content === 'string' ? message.content : JSON.stringify(message.content ?? '')), 0);
  const completion = estimateTokens(answer);
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

function vectorFor(text: string, dimensions: number): number[] {
  const digest = createHash('sha256').update(text).digest();
  return Array.from({ length: dimensions }, (_, index) => ((digest[index % digest.length] ?? 0) - 127.5) / 127.5);
}
