/**
 * The OpenAI Responses API wire format, as far as the relay reads and writes it: `/v1/responses`
 * requests are translated into the chat format (the relay's normal form) and the chat answer back
 * into a `response` object or its stream of events. Only the fields the relay reads are typed.
 * @see https://platform.openai.com/docs/api-reference/responses/create
 * @see https://platform.openai.com/docs/api-reference/responses-streaming
 */

/** A content part of an input message (`input_text`, `input_image`, `input_file`, …) or of an earlier output (`output_text`, `refusal`). */
export interface ResponsesContentPart {
  type: string;
  text?: string;
  refusal?: string;
  image_url?: string;
  file_id?: string;
  file_data?: string;
  filename?: string;
  file_url?: string;
  detail?: string;
  [field: string]: unknown;
}

/** One item of `input`: a message (with or without `type`), a function call or its output, a reference, … */
export interface ResponsesInputItem {
  type?: string;
  role?: string;
  content?: string | ResponsesContentPart[];
  id?: string;
  call_id?: string;
  name?: string;
  arguments?: string;
  output?: string | ResponsesContentPart[];
  /** A custom tool call's free-form input. */
  input?: string;
  [field: string]: unknown;
}

export interface ResponsesTool {
  type: string;
  name?: string;
  description?: string;
  parameters?: unknown;
  strict?: boolean;
  /** A custom tool's input format: free text, or text following a grammar. */
  format?: { type: string; syntax?: string; definition?: string };
  [field: string]: unknown;
}

export interface ResponsesRequest {
  model: string;
  input?: string | ResponsesInputItem[];
  instructions?: string | null;
  stream?: boolean | null;
  max_output_tokens?: number | null;
  temperature?: number | null;
  top_p?: number | null;
  tools?: ResponsesTool[];
  tool_choice?: string | { type: string; name?: string; [field: string]: unknown };
  parallel_tool_calls?: boolean | null;
  text?: { format?: { type: string; name?: string; schema?: unknown; strict?: boolean; description?: string }; verbosity?: string; [field: string]: unknown } | null;
  reasoning?: { effort?: string | null; summary?: string | null; generate_summary?: string | null; [field: string]: unknown } | null;
  user?: string;
  metadata?: Record<string, string> | null;
  store?: boolean | null;
  [field: string]: unknown;
}

/** An item of a response's `output`, as the relay produces them. */
export type ResponsesOutputItem =
  | {
      type: 'message';
      id: string;
      status: 'in_progress' | 'completed' | 'incomplete';
      role: 'assistant';
      content: Array<{ type: 'output_text'; text: string; annotations: unknown[]; logprobs: unknown[] } | { type: 'refusal'; refusal: string }>;
    }
  | { type: 'function_call'; id: string; call_id: string; name: string; arguments: string; status: 'in_progress' | 'completed' | 'incomplete' }
  | { type: 'custom_tool_call'; id: string; call_id: string; name: string; input: string; status: 'in_progress' | 'completed' | 'incomplete' }
  /** The model's reasoning, from a chat server that streams it apart (`reasoning_content` as DeepSeek's, `reasoning` as vLLM's), as a summary. */
  | { type: 'reasoning'; id: string; summary: Array<{ type: 'summary_text'; text: string }> };

export interface ResponsesUsage {
  input_tokens: number;
  input_tokens_details: { cached_tokens: number };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number };
  total_tokens: number;
}

export interface ResponseObject {
  id: string;
  object: 'response';
  created_at: number;
  status: 'in_progress' | 'completed' | 'incomplete' | 'failed';
  error: { code: string; message: string } | null;
  incomplete_details: { reason: string } | null;
  model: string;
  output: ResponsesOutputItem[];
  usage: ResponsesUsage | null;
  [field: string]: unknown;
}

/** The ids of a response's output items (which clients may name by `item_reference`), from its `output` as received. */
export function outputItemIds(output: unknown): string[] {
  const ids: string[] = [];
  if (Array.isArray(output)) for (const item of output) if (typeof (item as { id?: unknown } | null)?.id === 'string') ids.push((item as { id: string }).id);
  return ids;
}
