/**
 * The Anthropic Messages wire format, as far as the relay reads it: requests arriving at the
 * `/v1/messages` front door or sent to an Anthropic upstream, the `Message` answered, the streaming
 * events and the error envelope. Only the fields the relay reads are typed; everything else travels
 * in the index signatures, so a new Anthropic parameter passes through the day it ships.
 * @see https://docs.anthropic.com/en/api/messages
 * @see https://docs.anthropic.com/en/docs/build-with-claude/streaming
 */

import { toolCallId } from './tool-call-id.js';

const anthropicToolIdPattern = /^[a-zA-Z0-9_-]+$/;

/**
 * A tool call id as Anthropic takes it in `tool_use.id` and `tool_result.tool_use_id`: letters,
 * digits, `_` and `-` only. Other servers' ids (Kimi's `functions.get_weather:0`) have each other
 * character replaced by `_`, the same way every time, so that a call and its result still pair; an
 * id Anthropic takes is returned as it is, and a call without one (no id, or `""`) gets a new
 * `toolu_` id (`toolCallId`). Anthropic refuses the whole conversation over one id outside its
 * pattern, on every later turn.
 */
export function anthropicToolId(id: unknown): string {
  const given = toolCallId(id, 'toolu_');
  return anthropicToolIdPattern.test(given) ? given : given.replace(/[^a-zA-Z0-9_-]/g, '_');
}

/** The source of an `image` or `document` block: inline base64 bytes or a URL Anthropic fetches. */
export type AnthropicSource =
  | { type: 'base64'; media_type: string; data: string; [field: string]: unknown }
  | { type: 'url'; url: string; [field: string]: unknown }
  | { type: string; [field: string]: unknown };

/** One content block of a message. `type` decides which of the optional fields are present. */
export interface AnthropicContentBlock {
  type: 'text' | 'image' | 'document' | 'tool_use' | 'tool_result' | 'thinking' | 'redacted_thinking' | (string & {});
  text?: string;
  source?: AnthropicSource;
  /** `tool_use`: the call's id. */
  id?: string;
  /** `tool_use`: the tool's name. */
  name?: string;
  /** `tool_use`: the arguments, always an object. */
  input?: unknown;
  /** `tool_result`: the id of the `tool_use` it answers. */
  tool_use_id?: string;
  /** `tool_result`: a string or text/image blocks. */
  content?: string | AnthropicContentBlock[];
  is_error?: boolean;
  [field: string]: unknown;
}

export interface AnthropicMessageParam {
  role: 'user' | 'assistant' | (string & {});
  content: string | AnthropicContentBlock[];
  [field: string]: unknown;
}

export interface AnthropicTool {
  /** A custom tool's name; some server tools have none (an MCP connector's `mcp_toolset`). */
  name?: string;
  description?: string;
  input_schema?: Record<string, unknown>;
  /** Server tools (web search, bash, an MCP connector's toolset, …) carry a type instead of a schema. */
  type?: string;
  [field: string]: unknown;
}

export type AnthropicToolChoice =
  | { type: 'auto' | 'any'; disable_parallel_tool_use?: boolean }
  | { type: 'tool'; name: string; disable_parallel_tool_use?: boolean }
  | { type: 'none' };

export interface AnthropicRequest {
  model: string;
  messages: AnthropicMessageParam[];
  max_tokens: number;
  system?: string | AnthropicContentBlock[];
  stop_sequences?: string[];
  temperature?: number;
  top_p?: number;
  top_k?: number;
  stream?: boolean;
  tools?: AnthropicTool[];
  tool_choice?: AnthropicToolChoice;
  metadata?: { user_id?: string; [field: string]: unknown };
  [field: string]: unknown;
}

/**
 * Token counts as Anthropic reports them. `input_tokens` excludes the cached part: the prompt is
 * `input_tokens + cache_read_input_tokens + cache_creation_input_tokens`. `cache_creation` splits
 * the writes by how long they are cached (5 minutes, the default, or 1 hour), which Anthropic bills
 * at different prices.
 */
export interface AnthropicUsage {
  input_tokens?: number;
  output_tokens?: number;
  cache_read_input_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
  cache_creation?: { ephemeral_5m_input_tokens?: number; ephemeral_1h_input_tokens?: number; [field: string]: unknown } | null;
  [field: string]: unknown;
}

export type AnthropicStopReason = 'end_turn' | 'max_tokens' | 'stop_sequence' | 'tool_use' | 'pause_turn' | 'refusal' | (string & {});

/** The answer of `POST /v1/messages` (and the skeleton in `message_start`). */
export interface AnthropicMessage {
  id: string;
  type: 'message';
  role: 'assistant';
  model: string;
  content: AnthropicContentBlock[];
  stop_reason: AnthropicStopReason | null;
  stop_sequence: string | null;
  usage: AnthropicUsage;
  [field: string]: unknown;
}

/** The delta of a `content_block_delta` event. */
export interface AnthropicBlockDelta {
  type: 'text_delta' | 'input_json_delta' | 'thinking_delta' | 'signature_delta' | 'citations_delta' | (string & {});
  text?: string;
  partial_json?: string;
  [field: string]: unknown;
}

/** One server-sent event of a Messages stream; its `type` equals the SSE `event:` name. */
export type AnthropicStreamEvent =
  | { type: 'message_start'; message: AnthropicMessage }
  | { type: 'content_block_start'; index: number; content_block: AnthropicContentBlock }
  | { type: 'content_block_delta'; index: number; delta: AnthropicBlockDelta }
  | { type: 'content_block_stop'; index: number }
  | { type: 'message_delta'; delta: { stop_reason?: AnthropicStopReason | null; stop_sequence?: string | null; [field: string]: unknown }; usage?: AnthropicUsage }
  | { type: 'message_stop' }
  | { type: 'ping' }
  | { type: 'error'; error: AnthropicErrorDetail };

/** Anthropic's `error.type` values, which its SDKs and clients switch on. */
export type AnthropicErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'request_too_large'
  | 'rate_limit_error'
  | 'api_error'
  | 'overloaded_error'
  | (string & {});

export interface AnthropicErrorDetail {
  type: AnthropicErrorType;
  message: string;
  [field: string]: unknown;
}

/** An error on the wire, in a JSON answer and in a stream's `error` event alike. */
export interface AnthropicErrorBody {
  type: 'error';
  error: AnthropicErrorDetail;
}
