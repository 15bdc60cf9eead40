/**
 * The OpenAI Chat Completions wire format: the relay's normal form. Requests arrive in it (or are
 * translated into it), and every provider's answer is given back in it. Only the fields the relay reads
 * are typed; everything else travels untouched in the index signature.
 * @see https://platform.openai.com/docs/api-reference/chat
 */

export interface ChatContentPart {
  type: string;
  text?: string;
  image_url?: { url: string; detail?: string };
  [field: string]: unknown;
}

export interface ChatToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

/**
 * An assistant message's reasoning as a translation received it (a Messages client's thinking
 * blocks), kept under a symbol: JSON never writes it, so no upstream receives it unless its adapter
 * asks for it (`withReasoningReplayed`: DeepSeek's thinking mode needs it back).
 */
export const translatedReasoning: unique symbol = Symbol('translatedReasoning');

export interface ChatMessage {
  role: 'system' | 'developer' | 'user' | 'assistant' | 'tool' | 'function' | (string & {});
  content?: string | ChatContentPart[] | null;
  name?: string;
  tool_calls?: ChatToolCall[];
  tool_call_id?: string;
  [translatedReasoning]?: string;
  [field: string]: unknown;
}

export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  stream?: boolean | null;
  stream_options?: { include_usage?: boolean; [field: string]: unknown } | null;
  max_tokens?: number | null;
  max_completion_tokens?: number | null;
  [field: string]: unknown;
}

/**
 * Token counts of one request, in OpenAI's names. Cached tokens are a part of `prompt_tokens`, and
 * so are the tokens written to the prompt cache (`cache_write_tokens`, of them `cache_write_1h_tokens`
 * cached for 1 hour), which only Anthropic reports.
 */
export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details?: { cached_tokens?: number; cache_write_tokens?: number; cache_write_1h_tokens?: number; [field: string]: unknown };
  completion_tokens_details?: { reasoning_tokens?: number; [field: string]: unknown };
}

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: Array<{
    index: number;
    /** The model's reasoning: `reasoning_content` as DeepSeek gives it, or `reasoning` as vLLM and OpenRouter do (read both with `reasoningOf`). */
    message: {
      role: 'assistant';
      content: string | null;
      reasoning_content?: string;
      reasoning?: string;
      tool_calls?: ChatToolCall[];
      /** The legacy form of one call, in the answer to a request made with `functions`. */
      function_call?: { name: string; arguments: string };
      refusal?: string | null;
    };
    finish_reason: string | null;
    logprobs?: unknown;
  }>;
  usage?: Usage;
  [field: string]: unknown;
}

export interface ChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: Array<{
    index: number;
    delta: {
      role?: 'assistant';
      content?: string | null;
      reasoning_content?: string;
      reasoning?: string;
      tool_calls?: Array<{ index: number; id?: string; type?: 'function'; function?: { name?: string; arguments?: string } }>;
      /** The legacy form of one call's fragment, in the stream answering a request made with `functions`. */
      function_call?: { name?: string; arguments?: string };
      refusal?: string | null;
    };
    finish_reason: string | null;
    logprobs?: unknown;
  }>;
  usage?: Usage | null;
  [field: string]: unknown;
}

/** OpenAI reasoning models take `max_completion_tokens` and refuse `max_tokens`; other chat servers know only `max_tokens`. */
export function maxTokensField(model: string): 'max_completion_tokens' | 'max_tokens' {
  return /^(o\d|gpt-5)/.test(model) ? 'max_completion_tokens' : 'max_tokens';
}

/**
 * The chat request with the output limit `limit` in the one field `model` takes (`maxTokensField`)
 * and the other left out; the request itself when it has it so already, or when `limit` is undefined.
 */
export function withLimitField(chatRequest: ChatRequest, model: string, limit: number | undefined): ChatRequest {
  if (limit === undefined) return chatRequest;
  const field = maxTokensField(model);
  if (chatRequest[field] === limit && chatRequest[field === 'max_tokens' ? 'max_completion_tokens' : 'max_tokens'] === undefined) return chatRequest;
  const { max_tokens: _maxTokens, max_completion_tokens: _maxCompletionTokens, ...rest } = chatRequest;
  return { ...rest, [field]: limit };
}

type ChunkChoice = ChatCompletionChunk['choices'][number];
type ToolCallDelta = NonNullable<ChunkChoice['delta']['tool_calls']>[number];

/**
 * The choice of a chunk that a translation reads (index 0, else the first), or undefined when the
 * chunk has none a translation could read: upstream chunks are untrusted, and one of the wrong
 * shape is skipped rather than failing the stream. Its `delta` is the upstream's as it came (read
 * it with optional chaining, and its tool calls with `toolCallDeltas`).
 */
export function firstChoice(chunk: ChatCompletionChunk): ChunkChoice | undefined {
  const choices: unknown = chunk.choices;
  if (!Array.isArray(choices)) return undefined;
  const choice: unknown = choices.find((candidate: { index?: unknown } | null) => candidate?.index === 0) ?? choices[0];
  return choice !== null && typeof choice === 'object' ? (choice as ChunkChoice) : undefined;
}

/**
 * The reasoning a chat message or delta carries apart from its text: `reasoning_content` (DeepSeek,
 * vLLM before it renamed the field), else `reasoning` (vLLM since, OpenRouter) when it is a string.
 * A server that sends both (vLLM while it kept the old name too) sends the same text twice, so one
 * is read, never both.
 */
export function reasoningOf(message: { reasoning_content?: unknown; reasoning?: unknown } | null | undefined): string | undefined {
  const reasoning = message?.reasoning_content;
  if (typeof reasoning === 'string') return reasoning;
  return typeof message?.reasoning === 'string' ? message.reasoning : undefined;
}

/**
 * The text a chat message or a stream's delta carries, as the tokenizer counts a completion: its
 * content (when a string), refusal, reasoning (`reasoningOf`, billed as output as the rest), its
 * tool calls' names and arguments and a legacy `function_call`'s.
 */
export function messageText(
  message: { content?: unknown; refusal?: unknown; reasoning_content?: unknown; reasoning?: unknown; tool_calls?: unknown; function_call?: unknown } | null | undefined,
): string {
  let text = '';
  if (typeof message?.content === 'string') text += message.content;
  if (typeof message?.refusal === 'string') text += message.refusal;
  text += reasoningOf(message) ?? '';
  if (Array.isArray(message?.tool_calls)) {
    for (const call of message.tool_calls as Array<{ function?: unknown } | null>) text += functionText(call?.function);
  }
  // The legacy `functions` API's one call.
  text += functionText(message?.function_call);
  return text;
}

/** A function call's name and arguments, those that are text. */
function functionText(call: unknown): string {
  const { name, arguments: args } = (call ?? {}) as { name?: unknown; arguments?: unknown };
  return (typeof name === 'string' ? name : '') + (typeof args === 'string' ? args : '');
}

/** A delta's tool call fragments, those that are objects (an untrusted upstream's others, or a delta that is not one, give none). */
export function toolCallDeltas(delta: ChunkChoice['delta'] | null | undefined): ToolCallDelta[] {
  const calls: unknown = delta?.tool_calls;
  if (!Array.isArray(calls)) return [];
  return calls.filter((call): call is ToolCallDelta => call !== null && typeof call === 'object');
}

/**
 * Where a chat completion an upstream answered does not have the shape a translation reads (its
 * first choice's message, text and tool calls), as a field path; undefined when it does.
 */
export function malformedCompletionField(completion: unknown): string | undefined {
  if (completion === null || typeof completion !== 'object') return 'the answer';
  const choices = (completion as { choices?: unknown }).choices;
  if (choices === undefined || choices === null) return undefined;
  if (!Array.isArray(choices)) return 'choices';
  const choice: unknown = choices[0];
  if (choice === undefined) return undefined;
  if (choice === null || typeof choice !== 'object') return 'choices[0]';
  const message = (choice as { message?: unknown }).message;
  if (message === undefined || message === null) return undefined;
  if (typeof message !== 'object') return 'choices[0].message';
  const { content, refusal, tool_calls: toolCalls } = message as { content?: unknown; refusal?: unknown; tool_calls?: unknown };
  if (content !== undefined && content !== null && typeof content !== 'string') return 'choices[0].message.content';
  if (refusal !== undefined && refusal !== null && typeof refusal !== 'string') return 'choices[0].message.refusal';
  if (toolCalls === undefined || toolCalls === null) return undefined;
  if (!Array.isArray(toolCalls)) return 'choices[0].message.tool_calls';
  for (const [index, call] of toolCalls.entries()) {
    const fn = (call as { function?: { name?: unknown; arguments?: unknown } } | null)?.function;
    if (fn === null || typeof fn !== 'object' || typeof fn.name !== 'string' || typeof fn.arguments !== 'string') return `choices[0].message.tool_calls[${index}]`;
  }
  return undefined;
}
