import { anthropicToolId, type AnthropicContentBlock, type AnthropicMessageParam } from '../../spec/anthropic-messages.js';
import type { ChatContentPart, ChatMessage } from '../../spec/openai-chat.js';
import { UpstreamError } from '../../spec/relay-error.js';
import type { ProviderCall } from '../provider.js';
import { reportUnsupportedParameter } from './report-unsupported-parameter.js';

/**
 * The conversation in Anthropic's shape: system text apart (text blocks when a system message marks
 * a cache breakpoint, else one string), then strictly alternating turns.
 */
export interface AnthropicConversation {
  system: string | AnthropicContentBlock[] | undefined;
  messages: AnthropicMessageParam[];
}

/**
 * A prompt-cache breakpoint a client put on a content part, a message or a tool (`cache_control`,
 * as clients that know Anthropic send it in OpenAI's format): an object with a `type`
 * (`{type: "ephemeral"}`, with a `ttl` or not), passed on as it is; anything else is not one.
 * @see https://docs.anthropic.com/en/docs/build-with-claude/prompt-caching
 */
export function cacheControlOf(value: unknown): Record<string, unknown> | undefined {
  const control = (value as { cache_control?: unknown } | null | undefined)?.cache_control;
  return control !== null && typeof control === 'object' && typeof (control as { type?: unknown }).type === 'string' ? (control as Record<string, unknown>) : undefined;
}

/** The breakpoint on any content part of a message (the last one given), for a message that becomes one block. */
function partsCacheControl(content: ChatMessage['content']): Record<string, unknown> | undefined {
  let control: Record<string, unknown> | undefined;
  if (Array.isArray(content)) for (const part of content) control = cacheControlOf(part) ?? control;
  return control;
}

/** Puts a message-level breakpoint (on a message whose content is a string) on its last block. */
function markLastBlock(blocks: AnthropicContentBlock[], control: Record<string, unknown> | undefined): AnthropicContentBlock[] {
  const last = blocks[blocks.length - 1];
  if (control !== undefined && last !== undefined) last.cache_control = control;
  return blocks;
}

const dataUrlPattern = /^data:([^;,]+)((?:;[^;,]*)*?);base64,(.*)$/s;

function refuse(message: string, param: string, provider: string): UpstreamError {
  return new UpstreamError(`${provider}: ${message}`, {
    reason: 'invalid_request',
    status: 400,
    upstreamMessage: message,
    upstreamType: 'invalid_request_error',
    upstreamCode: 'invalid_value',
    upstreamParam: param,
    provider,
  });
}

function textOf(content: ChatMessage['content']): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part) => (typeof part.text === 'string' ? part.text : typeof part.refusal === 'string' ? part.refusal : ''))
    .filter((text) => text !== '')
    .join('\n');
}

/**
 * Data URLs become inline base64 images; http(s) URLs become URL images that Anthropic fetches.
 * `image/jpg`, a common misspelling that OpenAI accepts, is sent as the `image/jpeg` Anthropic takes
 * (it refuses any other media type with a 400 for the whole request).
 */
function imageBlock(url: string, param: string, provider: string): AnthropicContentBlock {
  const data = dataUrlPattern.exec(url);
  if (data !== null) {
    const mediaType = data[1] === undefined ? 'image/png' : data[1].toLowerCase() === 'image/jpg' ? 'image/jpeg' : data[1];
    return { type: 'image', source: { type: 'base64', media_type: mediaType, data: data[3] ?? '' } };
  }
  if (/^https?:\/\//i.test(url)) return { type: 'image', source: { type: 'url', url } };
  throw refuse(`Invalid image URL in '${param}': expected a base64 data URL (data:image/png;base64,…) or an http(s) URL.`, param, provider);
}

function userBlocks(message: ChatMessage, position: number, call: ProviderCall, provider: string): AnthropicContentBlock[] {
  if (typeof message.content === 'string') return message.content === '' ? [] : [{ type: 'text', text: message.content }];
  if (!Array.isArray(message.content)) return [];
  const blocks: AnthropicContentBlock[] = [];
  message.content.forEach((part: ChatContentPart, index) => {
    const param = `messages[${position}].content[${index}]`;
    let block: AnthropicContentBlock | undefined;
    if (part.type === 'text' && typeof part.text === 'string') {
      if (part.text !== '') block = { type: 'text', text: part.text };
    } else if (part.type === 'image_url' && typeof part.image_url?.url === 'string') {
      block = imageBlock(part.image_url.url, `${param}.image_url.url`, provider);
    } else if (part.type === 'file' && typeof (part.file as { file_data?: unknown } | undefined)?.file_data === 'string') {
      // PDFs sent inline map to Anthropic's document block; other files have no equivalent.
      const data = dataUrlPattern.exec((part.file as { file_data: string }).file_data);
      if (data?.[1] === 'application/pdf') block = { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: data[3] ?? '' } };
      else reportUnsupportedParameter(`${param}.file`, 'only inline PDF files can be sent to Anthropic', call, provider);
    } else {
      reportUnsupportedParameter(`${param}.${part.type}`, `content parts of type "${part.type}" have no Anthropic equivalent`, call, provider);
    }
    if (block === undefined) return;
    const control = cacheControlOf(part);
    if (control !== undefined) block.cache_control = control;
    blocks.push(block);
  });
  return blocks;
}

function parseArguments(text: string, param: string, call: ProviderCall, provider: string): Record<string, unknown> {
  if (text.trim() === '') return {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // falls through: Anthropic only takes an object as a tool call's input
  }
  reportUnsupportedParameter(param, 'tool call arguments that are not a JSON object cannot be sent to Anthropic', call, provider);
  return {};
}

function assistantBlocks(message: ChatMessage, position: number, call: ProviderCall, provider: string): AnthropicContentBlock[] {
  const blocks: AnthropicContentBlock[] = [];
  const text = textOf(message.content);
  // Anthropic rejects empty text blocks; an assistant turn that only calls tools has none.
  if (text !== '') {
    const control = partsCacheControl(message.content);
    blocks.push(control === undefined ? { type: 'text', text } : { type: 'text', text, cache_control: control });
  }
  (message.tool_calls ?? []).forEach((toolCall, index) => {
    const param = `messages[${position}].tool_calls[${index}].function.arguments`;
    blocks.push({ type: 'tool_use', id: anthropicToolId(toolCall.id), name: toolCall.function.name, input: parseArguments(toolCall.function.arguments, param, call, provider) });
  });
  return blocks;
}

function toolResultBlock(message: ChatMessage, position: number, provider: string): AnthropicContentBlock {
  if (typeof message.tool_call_id !== 'string' || message.tool_call_id === '') {
    throw refuse(`Missing 'messages[${position}].tool_call_id': a tool message must name the tool call it answers.`, `messages[${position}].tool_call_id`, provider);
  }
  const text = textOf(message.content);
  const id = anthropicToolId(message.tool_call_id);
  const block: AnthropicContentBlock = text === '' ? { type: 'tool_result', tool_use_id: id } : { type: 'tool_result', tool_use_id: id, content: text };
  const control = partsCacheControl(message.content);
  if (control !== undefined) block.cache_control = control;
  return block;
}

/**
 * Turns OpenAI chat messages into Anthropic's conversation: system and developer messages move to
 * `system`; user parts become text, image (base64 or URL) and PDF document blocks; assistant tool
 * calls become `tool_use` blocks and tool messages `tool_result` blocks; consecutive messages of
 * one role merge into one turn, because Anthropic wants the roles to alternate, with tool results
 * first in their turn, as Anthropic requires after a `tool_use`.
 * @see https://docs.anthropic.com/en/api/messages#body-messages
 * @see https://docs.anthropic.com/en/docs/agents-and-tools/tool-use/implement-tool-use#handling-tool-use-and-tool-result-content-blocks
 */
export function convertToAnthropicMessages(chatMessages: ChatMessage[], call: ProviderCall, provider: string): AnthropicConversation {
  const systemParts: AnthropicContentBlock[] = [];
  let systemCached = false;
  const messages: Array<{ role: 'user' | 'assistant'; content: AnthropicContentBlock[] }> = [];
  chatMessages.forEach((message, position) => {
    let role: 'user' | 'assistant';
    let blocks: AnthropicContentBlock[];
    switch (message.role) {
      case 'system':
      case 'developer': {
        const text = textOf(message.content);
        if (text === '') return;
        const control = partsCacheControl(message.content) ?? cacheControlOf(message);
        systemParts.push(control === undefined ? { type: 'text', text } : { type: 'text', text, cache_control: control });
        if (control !== undefined) systemCached = true;
        return;
      }
      case 'user':
        role = 'user';
        blocks = userBlocks(message, position, call, provider);
        break;
      case 'assistant':
        role = 'assistant';
        blocks = assistantBlocks(message, position, call, provider);
        break;
      case 'tool':
        role = 'user';
        blocks = [toolResultBlock(message, position, provider)];
        break;
      default:
        reportUnsupportedParameter(`messages[${position}]`, `messages with role "${message.role}" have no Anthropic equivalent`, call, provider);
        return;
    }
    if (blocks.length === 0) return;
    markLastBlock(blocks, cacheControlOf(message));
    const previous = messages[messages.length - 1];
    if (previous?.role === role) previous.content.push(...blocks);
    else messages.push({ role, content: blocks });
  });
  for (const message of messages) {
    if (message.role === 'user' && message.content.some((block) => block.type === 'tool_result')) {
      // A stable partition: the tool results, in order, then the rest of the turn.
      message.content = [...message.content.filter((block) => block.type === 'tool_result'), ...message.content.filter((block) => block.type !== 'tool_result')];
    }
  }
  if (messages.length === 0) {
    throw refuse("The request has no user or assistant message with content: Anthropic needs at least one besides the system prompt.", 'messages', provider);
  }
  // One string, as before, unless a system message marks a cache breakpoint: then a block each.
  const system = systemParts.length === 0 ? undefined : systemCached ? systemParts : systemParts.map((part) => part.text).join('\n\n');
  return { system, messages };
}
