import { createHash } from 'node:crypto';
import type { AnthropicContentBlock, AnthropicRequest, AnthropicTool } from '../../spec/anthropic-messages.js';
import { maxTokensField, translatedReasoning, type ChatContentPart, type ChatMessage, type ChatRequest, type ChatToolCall } from '../../spec/openai-chat.js';
import { lowerToLimit } from '../output-limit.js';
import { toolResultAttachments } from '../tool-result-attachments.js';
import type { TranslatedRequest, UnsupportedParameter } from '../translated-request.js';

/** Top-level fields handled below; `cache_control` hints and the like only matter to Anthropic. */
const handledFields = new Set(['model', 'messages', 'max_tokens', 'system', 'stop_sequences', 'temperature', 'top_p', 'stream', 'tools', 'tool_choice', 'metadata', 'thinking', 'output_config', 'output_format']);

/**
 * The largest `thinking.budget_tokens` read as each OpenAI `reasoning_effort`: up to 4096 tokens
 * `low`, up to 16384 `medium`, more `high`.
 */
export const budgetEfforts: ReadonlyArray<readonly [number, string]> = [
  [4096, 'low'],
  [16384, 'medium'],
];

/**
 * Anthropic's `output_config.effort` as OpenAI's `reasoning_effort`: low, medium and high as they
 * are; xhigh and max, which OpenAI-compatible servers do not all take, as high.
 */
const efforts: Readonly<Record<string, string>> = { low: 'low', medium: 'medium', high: 'high', xhigh: 'high', max: 'high' };

/**
 * The `reasoning_effort` a request's `thinking` and `output_config.effort` ask for, with the fields
 * it came from (what is reported when the upstream refuses it), or undefined; what cannot be
 * translated is listed in `unsupported`. Adaptive thinking (or an effort alone, which Anthropic also
 * takes without thinking) gives its effort, or `high`, Anthropic's default effort, when it names
 * none; thinking with a budget gives an effort by the budget's size (`budgetEfforts`), or the
 * effort when the request names one too. `thinking: {type: "disabled"}` gives nothing, and an
 * effort beside it is reported. `output_config`'s other fields but `format` (`responseFormat`) are reported.
 * @see https://platform.claude.com/docs/en/build-with-claude/adaptive-thinking
 * @see https://platform.claude.com/docs/en/build-with-claude/effort
 */
function reasoningEffort(body: AnthropicRequest, unsupported: UnsupportedParameter[]): { effort: string; from: string[] } | undefined {
  const thinking = body.thinking as { type?: unknown; budget_tokens?: unknown } | null | undefined;
  const config = body.output_config as Record<string, unknown> | null | undefined;
  let effort: unknown;
  if (config !== undefined && config !== null) {
    if (typeof config !== 'object' || Array.isArray(config)) {
      unsupported.push({ name: 'output_config', why: 'the upstream serving this model has no such parameter' });
    } else {
      for (const [name, value] of Object.entries(config)) {
        if (name === 'effort' || name === 'format' || value === undefined || value === null) continue;
        unsupported.push({ name: `output_config.${name}`, why: 'the upstream serving this model has no such parameter' });
      }
      effort = config.effort ?? undefined;
    }
  }
  const type = thinking === undefined || thinking === null ? undefined : typeof thinking === 'object' ? thinking.type : null;
  if (effort !== undefined && (typeof effort !== 'string' || !Object.hasOwn(efforts, effort))) {
    unsupported.push({ name: 'output_config.effort', why: 'OpenAI-compatible upstreams take the efforts low, medium, high, xhigh and max only' });
    effort = undefined;
  }
  if (type === 'disabled') {
    if (effort !== undefined) unsupported.push({ name: 'output_config.effort', why: "the upstream's reasoning_effort is an effort of thinking, which this request turns off" });
    return undefined;
  }
  if (type === 'enabled' || type === 'adaptive') {
    const from = effort === undefined ? ['thinking'] : ['thinking', 'output_config.effort'];
    if (effort !== undefined) return { effort: efforts[effort as string]!, from };
    if (type === 'adaptive') return { effort: 'high', from };
    const budget = thinking!.budget_tokens;
    if (typeof budget !== 'number' || !Number.isFinite(budget)) {
      unsupported.push({ name: 'thinking', why: 'thinking of type enabled takes a budget_tokens' });
      return undefined;
    }
    return { effort: budgetEfforts.find(([largest]) => budget <= largest)?.[1] ?? 'high', from };
  }
  if (type !== undefined) unsupported.push({ name: 'thinking', why: 'OpenAI-compatible upstreams know thinking of type enabled, adaptive or disabled only' });
  return effort === undefined ? undefined : { effort: efforts[effort as string]!, from: ['output_config.effort'] };
}

/**
 * Anthropic's structured output (`output_config.format`, or the beta's top-level `output_format`:
 * `{type: "json_schema", schema}`) as OpenAI's `response_format` with a strict JSON schema: both
 * make the model answer with JSON that the schema holds, which comes back as the answer's text.
 * Another format, or one without a schema object, is reported.
 * @see https://platform.claude.com/docs/en/build-with-claude/structured-outputs
 * @see https://platform.openai.com/docs/guides/structured-outputs
 */
function responseFormat(body: AnthropicRequest, unsupported: UnsupportedParameter[]): ChatRequest['response_format'] | undefined {
  const config = body.output_config as { format?: unknown } | null | undefined;
  const configFormat = config !== null && typeof config === 'object' && !Array.isArray(config) ? config.format : undefined;
  const [name, format] = configFormat !== undefined && configFormat !== null ? ['output_config.format', configFormat] : ['output_format', body.output_format];
  if (format === undefined || format === null) return undefined;
  const { type, schema } = format as { type?: unknown; schema?: unknown };
  if (type !== 'json_schema' || schema === null || typeof schema !== 'object' || Array.isArray(schema)) {
    unsupported.push({ name, why: 'OpenAI-compatible upstreams take a format of type json_schema with a schema object only' });
    return undefined;
  }
  return { type: 'json_schema', json_schema: { name: 'output', schema: schema as Record<string, unknown>, strict: true } };
}

function textOf(content: string | AnthropicContentBlock[] | undefined): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .filter((block) => block.type === 'text' && typeof block.text === 'string')
    .map((block) => block.text)
    .join('\n');
}

function contentPart(block: AnthropicContentBlock, param: string, unsupported: UnsupportedParameter[]): ChatContentPart | undefined {
  const source = block.source as { type?: string; media_type?: string; data?: string; url?: string } | undefined;
  if (block.type === 'text' && typeof block.text === 'string') return { type: 'text', text: block.text };
  if (block.type === 'image' && source?.type === 'base64') return { type: 'image_url', image_url: { url: `data:${source.media_type};base64,${source.data}` } };
  if (block.type === 'image' && source?.type === 'url' && typeof source.url === 'string') return { type: 'image_url', image_url: { url: source.url } };
  if (block.type === 'document' && source?.type === 'base64' && source.media_type === 'application/pdf') {
    return { type: 'file', file: { filename: typeof block.title === 'string' ? block.title : 'document.pdf', file_data: `data:application/pdf;base64,${source.data}` } };
  }
  if (block.type === 'document' && source?.type === 'text' && typeof source.data === 'string') return { type: 'text', text: source.data };
  unsupported.push({ name: param, why: `content blocks of type "${block.type}"${source?.type ? ` with a ${source.type} source` : ''} have no OpenAI equivalent` });
  return undefined;
}

/** All-text content becomes a plain string, which every OpenAI-compatible server accepts. */
function simplify(parts: ChatContentPart[]): string | ChatContentPart[] {
  return parts.every((part) => part.type === 'text') ? parts.map((part) => part.text ?? '').join('\n') : parts;
}

/**
 * A `tool_result` as an OpenAI `tool` message, whose content can only be text. Its images and PDFs
 * (a screenshot tool's answer, say) are returned apart, introduced by a line naming the call, to be
 * sent in the user message that follows the tool messages; the tool message says so.
 */
function convertToolResult(block: AnthropicContentBlock, param: string, unsupported: UnsupportedParameter[]): { message: ChatMessage; attachments: ChatContentPart[] } {
  const id = String(block.tool_use_id);
  const attachments: ChatContentPart[] = [];
  const blocks = Array.isArray(block.content) ? block.content : [];
  blocks.forEach((inner, innerIndex) => {
    if (inner.type === 'text') return;
    const part = contentPart(inner, `${param}.content[${innerIndex}]`, unsupported);
    if (part !== undefined) attachments.push(part);
  });
  const result = toolResultAttachments(id, textOf(block.content), attachments);
  // OpenAI tool messages have no error flag: the text has to say it.
  return { message: { role: 'tool', tool_call_id: id, content: block.is_error === true ? `Error: ${result.text}` : result.text }, attachments: result.parts };
}

function convertUser(content: string | AnthropicContentBlock[], position: number, unsupported: UnsupportedParameter[]): ChatMessage[] {
  if (typeof content === 'string') return [{ role: 'user', content }];
  const messages: ChatMessage[] = [];
  const attachments: ChatContentPart[] = [];
  const parts: ChatContentPart[] = [];
  content.forEach((block, index) => {
    const param = `messages[${position}].content[${index}]`;
    if (block.type === 'tool_result') {
      const result = convertToolResult(block, param, unsupported);
      messages.push(result.message);
      attachments.push(...result.attachments);
      return;
    }
    const part = contentPart(block, param, unsupported);
    if (part !== undefined) parts.push(part);
  });
  // After the tool messages, as OpenAI wants the answers right after the calls.
  if (attachments.length + parts.length > 0) messages.push({ role: 'user', content: simplify([...attachments, ...parts]) });
  return messages;
}

function convertAssistant(content: string | AnthropicContentBlock[], position: number, unsupported: UnsupportedParameter[]): ChatMessage {
  if (typeof content === 'string') return { role: 'assistant', content };
  const texts: string[] = [];
  const toolCalls: ChatToolCall[] = [];
  const thinking: string[] = [];
  content.forEach((block, index) => {
    if (block.type === 'text' && typeof block.text === 'string') texts.push(block.text);
    else if (block.type === 'thinking' && typeof block.thinking === 'string') thinking.push(block.thinking);
    else if (block.type === 'tool_use') {
      toolCalls.push({ id: String(block.id), type: 'function', function: { name: String(block.name), arguments: JSON.stringify(block.input ?? {}) } });
    } else if (block.type !== 'thinking' && block.type !== 'redacted_thinking') {
      // Redacted thinking is the model's own, meaningless to another model; anything else is reported.
      unsupported.push({ name: `messages[${position}].content[${index}]`, why: `assistant blocks of type "${block.type}" have no OpenAI equivalent` });
    }
  });
  // No text: null beside tool calls, as OpenAI writes it; else an empty text, as OpenAI refuses a null
  // content without tool calls ("expected a string, got null") — a turn that was thinking alone (the
  // relay's answer when a reasoning model reached max_tokens before any text).
  const message: ChatMessage = { role: 'assistant', content: texts.length > 0 ? texts.join('') : toolCalls.length > 0 ? null : '' };
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  // Kept apart, for an upstream that wants a tool turn's reasoning back (DeepSeek: `withReasoningReplayed`).
  if (thinking.length > 0) message[translatedReasoning] = thinking.join('');
  return message;
}

/** What names a server tool besides its type: its name, or for an MCP connector's toolset (which has none) its server's. */
function serverToolName(tool: AnthropicTool): string {
  if (typeof tool.name === 'string') return ` (named "${tool.name}")`;
  return typeof tool.mcp_server_name === 'string' ? ` of the MCP server "${tool.mcp_server_name}"` : '';
}

function convertTools(body: AnthropicRequest, unsupported: UnsupportedParameter[]): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  if (!Array.isArray(body.tools) || body.tools.length === 0) return fields;
  const tools: unknown[] = [];
  body.tools.forEach((tool, index) => {
    if (tool.type !== undefined && tool.type !== 'custom') {
      unsupported.push({ name: `tools[${index}]`, why: `the server tool "${tool.type}"${serverToolName(tool)} runs at Anthropic only` });
      return;
    }
    tools.push({ type: 'function', function: { name: tool.name, ...(tool.description ? { description: tool.description } : {}), parameters: tool.input_schema ?? { type: 'object', properties: {} } } });
  });
  if (tools.length === 0) return fields;
  fields.tools = tools;
  const choice = body.tool_choice;
  if (choice?.type === 'auto') fields.tool_choice = 'auto';
  else if (choice?.type === 'any') fields.tool_choice = 'required';
  else if (choice?.type === 'none') fields.tool_choice = 'none';
  else if (choice?.type === 'tool') fields.tool_choice = { type: 'function', function: { name: choice.name } };
  if (choice !== undefined && 'disable_parallel_tool_use' in choice && choice.disable_parallel_tool_use === true) fields.parallel_tool_calls = false;
  return fields;
}

/** The longest `user` OpenAI takes; it refuses a longer one with a 400 for the whole request. */
const openaiUserMaxLength = 64;

/**
 * `metadata.user_id` as OpenAI's `user`. Anthropic takes ids far longer than OpenAI's 64 characters,
 * and Claude Code sends one of about 150 (a JSON text naming device, account and session): such an
 * id goes as its SHA-256 in hex, exactly 64 characters, the same for the same id, so the upstream
 * still tells end users apart (OpenAI asks for hashed ids anyway). A shorter id goes as it came.
 */
function openaiUser(userId: string): string {
  return userId.length <= openaiUserMaxLength ? userId : createHash('sha256').update(userId).digest('hex');
}

/**
 * Translates an Anthropic Messages request into an OpenAI chat request, for models served by a
 * non-Anthropic upstream: `system` becomes a system message; text, images (base64 → data URL, url
 * → URL) and PDFs become content parts; `tool_use` blocks become `tool_calls` and `tool_result`
 * blocks `tool` messages (placed before the rest of their turn, as OpenAI expects the answers
 * right after the calls; their images and PDFs, which a tool message cannot carry, open the user
 * message that follows); `stop_sequences` → `stop`; `tool_choice` any/tool/none →
 * required/function/none; `metadata.user_id` → `user` (hashed when longer than OpenAI takes);
 * `max_tokens` as it came, or lowered to `outputLimit` (the upstream model's output limit, when
 * known) when above it; `thinking` and `output_config.effort` → `reasoning_effort` (see
 * `reasoningEffort`; `reasoningFrom` names the fields it came from); `output_config.format` (or
 * `output_format`) → `response_format` (see `responseFormat`). What cannot be translated (top_k,
 * server tools, …) is listed in `unsupported`.
 * @see https://docs.anthropic.com/en/api/messages
 * @see https://platform.openai.com/docs/api-reference/chat/create
 */
export function convertFromAnthropicRequest(body: AnthropicRequest, upstreamModel: string, outputLimit?: number): TranslatedRequest {
  const unsupported: UnsupportedParameter[] = [];
  const messages: ChatMessage[] = [];
  const system = textOf(body.system);
  if (system !== '') messages.push({ role: 'system', content: system });
  body.messages.forEach((message, position) => {
    if (message.role === 'assistant') messages.push(convertAssistant(message.content, position, unsupported));
    else messages.push(...convertUser(message.content, position, unsupported));
  });
  const chatRequest: ChatRequest = { model: upstreamModel, messages };
  chatRequest[maxTokensField(upstreamModel)] = lowerToLimit(body.max_tokens, outputLimit);
  if (Array.isArray(body.stop_sequences) && body.stop_sequences.length > 0) chatRequest.stop = body.stop_sequences;
  if (typeof body.temperature === 'number') chatRequest.temperature = body.temperature;
  if (typeof body.top_p === 'number') chatRequest.top_p = body.top_p;
  if (typeof body.metadata?.user_id === 'string') chatRequest.user = openaiUser(body.metadata.user_id);
  Object.assign(chatRequest, convertTools(body, unsupported));
  const reasoning = reasoningEffort(body, unsupported);
  if (reasoning !== undefined) chatRequest.reasoning_effort = reasoning.effort;
  const format = responseFormat(body, unsupported);
  if (format !== undefined) chatRequest.response_format = format;
  if (body.stream === true) {
    chatRequest.stream = true;
    chatRequest.stream_options = { include_usage: true };
  }
  for (const [name, value] of Object.entries(body)) {
    if (handledFields.has(name) || value === undefined || value === null) continue;
    unsupported.push({ name, why: name === 'top_k' ? 'OpenAI-compatible upstreams have no top_k' : 'the upstream serving this model has no such parameter' });
  }
  return { chatRequest, unsupported, ...(reasoning === undefined ? {} : { reasoningFrom: reasoning.from }) };
}
