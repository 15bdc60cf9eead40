import { maxTokensField, translatedReasoning, type ChatContentPart, type ChatMessage, type ChatRequest } from '../../spec/openai-chat.js';
import type { ResponsesContentPart, ResponsesInputItem, ResponsesRequest, ResponsesTool } from '../../spec/openai-responses.js';
import { RelayError } from '../../spec/relay-error.js';
import { toolResultAttachments } from '../tool-result-attachments.js';
import type { TranslatedRequest, UnsupportedParameter } from '../translated-request.js';

/** Finds an item an earlier response of this relay produced, for an `item_reference`. */
export type ItemLookup = (id: string) => ResponsesInputItem | undefined;

/** A Responses request as chat, with the names of its custom tools (their calls go back as `custom_tool_call` items). */
export interface TranslatedResponsesRequest extends TranslatedRequest {
  customTools: ReadonlySet<string>;
}

/** The one argument a custom tool becomes as a chat function: its free-form input. */
const customToolParameters = { type: 'object', properties: { input: { type: 'string', description: 'The input, as free text' } }, required: ['input'], additionalProperties: false };

/** A custom tool call's input as chat function arguments. */
export function customToolArguments(input: string): string {
  return JSON.stringify({ input });
}

/** A custom tool's input from chat function arguments: the `input` field, else the arguments as they came. */
export function customToolInput(argumentsText: string): string {
  try {
    const parsed = JSON.parse(argumentsText) as { input?: unknown };
    if (typeof parsed?.input === 'string') return parsed.input;
  } catch {
    // a model's malformed arguments: handed over as they are
  }
  return argumentsText;
}

/** Top-level fields read below (or meaningless to a stateless translation, like `stream_options`' obfuscation). */
const handledFields = new Set([
  'model', 'input', 'instructions', 'stream', 'stream_options', 'max_output_tokens', 'temperature', 'top_p', 'tools', 'tool_choice',
  'parallel_tool_calls', 'text', 'reasoning', 'user', 'safety_identifier', 'prompt_cache_key', 'service_tier', 'store', 'truncation', 'fallbacks',
]);

/** Fields whose meaning needs state the relay does not keep: dropping them would answer another question. */
const statefulFields: Record<string, string> = {
  previous_response_id: 'the relay keeps no conversations: send the whole conversation in `input`',
  conversation: 'the relay keeps no conversations: send the whole conversation in `input`',
  prompt: 'stored prompt templates live at OpenAI: send the prompt itself in `instructions` and `input`',
  background: 'background responses are not served by the relay: send the request without `background`',
};

function refuse(param: string, message: string): never {
  throw new RelayError(message, { status: 400, type: 'invalid_request_error', code: 'unsupported_parameter', param });
}

function invalid(param: string, message: string): never {
  throw new RelayError(message, { status: 400, type: 'invalid_request_error', code: 'invalid_value', param });
}

/** One input content part as a chat content part; undefined (and reported) when chat has no equivalent. */
function contentPart(part: ResponsesContentPart, param: string, unsupported: UnsupportedParameter[]): ChatContentPart | undefined {
  if (part === null || typeof part !== 'object') invalid(param, `${param} must be a content part: an object with a type.`);
  switch (part.type) {
    case 'input_text':
    case 'output_text':
    case 'text':
      return { type: 'text', text: typeof part.text === 'string' ? part.text : '' };
    case 'refusal':
      return { type: 'text', text: typeof part.refusal === 'string' ? part.refusal : '' };
    case 'input_image':
      if (typeof part.image_url === 'string') return { type: 'image_url', image_url: { url: part.image_url, ...(typeof part.detail === 'string' ? { detail: part.detail } : {}) } };
      break;
    case 'input_file':
      if (typeof part.file_data === 'string') return { type: 'file', file: { file_data: part.file_data, ...(typeof part.filename === 'string' ? { filename: part.filename } : {}) } };
      if (typeof part.file_id === 'string') return { type: 'file', file: { file_id: part.file_id } };
      break;
    case 'input_audio':
      if (part.input_audio !== undefined) return { type: 'input_audio', input_audio: part.input_audio };
      break;
    default:
  }
  unsupported.push({ name: param, why: `content parts of type "${part.type}"${part.type === 'input_image' ? ' given by file id' : part.type === 'input_file' ? ' given by URL' : ''} have no chat equivalent` });
  return undefined;
}

/** All-text content becomes a plain string, which every chat server accepts. */
function simplify(parts: ChatContentPart[]): string | ChatContentPart[] {
  return parts.every((part) => part.type === 'text') ? parts.map((part) => part.text ?? '').join('') : parts;
}

function convertContent(content: string | ResponsesContentPart[] | undefined, param: string, unsupported: UnsupportedParameter[]): string | ChatContentPart[] {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) invalid(`${param}.content`, `${param}.content must be a string or an array of content parts.`);
  const parts: ChatContentPart[] = [];
  content.forEach((part, index) => {
    const converted = contentPart(part, `${param}.content[${index}]`, unsupported);
    if (converted !== undefined) parts.push(converted);
  });
  return simplify(parts);
}

/**
 * A function call's output is a string, or content parts: chat's tool messages carry their text,
 * and their images and files are returned apart, for the user message after the tool messages.
 */
function toolOutput(output: unknown, param: string, unsupported: UnsupportedParameter[]): { text: string; attachments: ChatContentPart[] } {
  if (typeof output === 'string') return { text: output, attachments: [] };
  if (!Array.isArray(output)) return { text: JSON.stringify(output ?? ''), attachments: [] };
  const attachments: ChatContentPart[] = [];
  const text = (output as ResponsesContentPart[])
    .map((part, index) => {
      if (part === null || typeof part !== 'object') invalid(`${param}.output[${index}]`, `${param}.output[${index}] must be a content part: an object with a type.`);
      if (part.type === 'input_text' || part.type === 'output_text') return part.text ?? '';
      const converted = contentPart(part, `${param}.output[${index}]`, unsupported);
      if (converted !== undefined) attachments.push(converted);
      return '';
    })
    .join('');
  return { text, attachments };
}

/** A reasoning item's text: its reasoning (`reasoning_text` parts), else its summary (`summary_text` parts, as the relay writes a chat server's reasoning). */
function reasoningText(item: ResponsesInputItem): string {
  const texts = (parts: unknown, type: string): string =>
    Array.isArray(parts) ? parts.map((part: { type?: unknown; text?: unknown } | null) => (part?.type === type && typeof part.text === 'string' ? part.text : '')).join('') : '';
  const reasoning = texts((item as { content?: unknown }).content, 'reasoning_text');
  return reasoning !== '' ? reasoning : texts((item as { summary?: unknown }).summary, 'summary_text');
}

function isReasoningAlone(message: ChatMessage): boolean {
  return message.role === 'assistant' && message[translatedReasoning] !== undefined && (message.content === null || message.content === undefined) && message.tool_calls === undefined;
}

/** The last message, when it is an assistant turn that may still take tool calls (no tool answer came after it). */
function openAssistant(messages: ChatMessage[]): ChatMessage | undefined {
  const last = messages.at(-1);
  return last?.role === 'assistant' ? last : undefined;
}

function convertItem(item: ResponsesInputItem, param: string, messages: ChatMessage[], unsupported: UnsupportedParameter[], lookup: ItemLookup, attachments: ChatContentPart[]): void {
  if (item === null || typeof item !== 'object') invalid(param, `${param} must be an object (a message or an item).`);
  const type = item.type ?? (item.role !== undefined ? 'message' : undefined);
  switch (type) {
    case 'message': {
      const role = item.role;
      if (role !== 'user' && role !== 'assistant' && role !== 'system' && role !== 'developer') {
        invalid(`${param}.role`, `${param}.role must be one of user, assistant, system or developer.`);
      }
      const content = convertContent(item.content, param, unsupported);
      const previous = openAssistant(messages);
      // An assistant's text and the calls it made are one chat message, whichever order the items came in.
      if (role === 'assistant' && previous !== undefined && typeof content === 'string' && (previous.content === null || previous.content === undefined)) {
        previous.content = content;
        return;
      }
      messages.push({ role, content });
      return;
    }
    case 'function_call':
    case 'custom_tool_call': {
      if (typeof item.call_id !== 'string' || typeof item.name !== 'string') invalid(param, `${param} is a ${type} and needs a call_id and a name.`);
      const argumentsText = type === 'custom_tool_call' ? customToolArguments(typeof item.input === 'string' ? item.input : '') : typeof item.arguments === 'string' ? item.arguments : '{}';
      const call = { id: item.call_id, type: 'function' as const, function: { name: item.name, arguments: argumentsText } };
      const previous = openAssistant(messages);
      if (previous !== undefined) (previous.tool_calls ??= []).push(call);
      else messages.push({ role: 'assistant', content: null, tool_calls: [call] });
      return;
    }
    case 'function_call_output':
    case 'custom_tool_call_output': {
      if (typeof item.call_id !== 'string') invalid(param, `${param} is a ${type} and needs the call_id of its call.`);
      const output = toolOutput(item.output, param, unsupported);
      const result = toolResultAttachments(item.call_id, output.text, output.attachments);
      messages.push({ role: 'tool', tool_call_id: item.call_id, content: result.text });
      attachments.push(...result.parts);
      return;
    }
    case 'item_reference': {
      const referenced = typeof item.id === 'string' ? lookup(item.id) : undefined;
      if (referenced === undefined) {
        invalid(
          param,
          `${param} refers to the item '${String(item.id)}', which this relay does not have (it keeps the items of its answers for an hour, for the key that got them). Send the item itself, or send the request with "store": false so that clients send whole items.`,
        );
      }
      convertItem(referenced, param, messages, unsupported, lookup, attachments);
      return;
    }
    case 'reasoning': {
      // A model's own earlier reasoning: chat has no place for it, and another model cannot read it.
      unsupported.push({ name: param, why: 'reasoning items have no chat equivalent' });
      // Kept apart on the assistant turn it comes before, for an upstream that wants a tool turn's
      // reasoning back (DeepSeek: `withReasoningReplayed`); a turn of reasoning alone is left out.
      const text = reasoningText(item);
      if (text !== '') messages.push({ role: 'assistant', content: null, [translatedReasoning]: text });
      return;
    }
    default:
      unsupported.push({ name: param, why: `items of type "${String(type)}" belong to tools that run at OpenAI` });
  }
}

/** A custom tool's description, with the grammar its input must follow when it has one. */
function customToolDescription(tool: ResponsesTool): string {
  const description = typeof tool.description === 'string' ? tool.description : '';
  const format = tool.format;
  if (format?.type !== 'grammar' || typeof format.definition !== 'string') return description;
  return `${description}${description === '' ? '' : '\n\n'}The input must follow this ${format.syntax ?? ''} grammar:\n${format.definition}`;
}

function convertTools(body: ResponsesRequest, unsupported: UnsupportedParameter[], customTools: Set<string>): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  if (!Array.isArray(body.tools) || body.tools.length === 0) return fields;
  const tools: unknown[] = [];
  body.tools.forEach((tool, index) => {
    if (tool?.type !== 'function' && tool?.type !== 'custom') {
      unsupported.push({ name: `tools[${index}]`, why: `the tool "${String(tool?.type)}" runs at OpenAI only` });
      return;
    }
    if (typeof tool.name !== 'string' || tool.name === '') invalid(`tools[${index}].name`, `tools[${index}] is a ${tool.type} tool and needs a name.`);
    if (tool.type === 'custom') {
      // A custom tool takes free text: as a chat function, one string argument carries it.
      customTools.add(tool.name);
      const description = customToolDescription(tool);
      tools.push({ type: 'function', function: { name: tool.name, ...(description === '' ? {} : { description }), parameters: customToolParameters } });
      return;
    }
    const fn: Record<string, unknown> = { name: tool.name, parameters: tool.parameters ?? { type: 'object', properties: {} } };
    if (typeof tool.description === 'string') fn.description = tool.description;
    if (typeof tool.strict === 'boolean') fn.strict = tool.strict;
    tools.push({ type: 'function', function: fn });
  });
  if (tools.length === 0) return fields;
  fields.tools = tools;
  const choice = body.tool_choice;
  if (choice === 'auto' || choice === 'none' || choice === 'required') fields.tool_choice = choice;
  else if (typeof choice === 'object' && choice !== null && (choice.type === 'function' || choice.type === 'custom') && typeof choice.name === 'string') fields.tool_choice = { type: 'function', function: { name: choice.name } };
  else if (choice !== undefined && choice !== null) unsupported.push({ name: 'tool_choice', why: 'only auto, none, required and a named function or custom tool have a chat equivalent' });
  if (typeof body.parallel_tool_calls === 'boolean') fields.parallel_tool_calls = body.parallel_tool_calls;
  return fields;
}

function convertText(body: ResponsesRequest, chatRequest: ChatRequest, unsupported: UnsupportedParameter[]): void {
  const text = body.text;
  if (text === undefined || text === null) return;
  const format = text.format;
  if (format?.type === 'json_object') chatRequest.response_format = { type: 'json_object' };
  else if (format?.type === 'json_schema') {
    const schema: Record<string, unknown> = { name: format.name ?? 'response', schema: format.schema ?? {} };
    if (typeof format.strict === 'boolean') schema.strict = format.strict;
    if (typeof format.description === 'string') schema.description = format.description;
    chatRequest.response_format = { type: 'json_schema', json_schema: schema };
  } else if (format !== undefined && format !== null && format.type !== 'text') unsupported.push({ name: 'text.format', why: `the format "${format.type}" has no chat equivalent` });
  if (typeof text.verbosity === 'string') chatRequest.verbosity = text.verbosity;
}

/**
 * Translates a Responses API request into a chat request, for every upstream (all of them speak
 * chat, or are translated from it): `instructions` becomes the first system message; message
 * items become messages (`input_text`/`output_text` → text, `input_image` → `image_url`,
 * `input_file` → `file`); `function_call` items become the assistant's `tool_calls` (joined with
 * the assistant text they follow) and `function_call_output` items `tool` messages (their images
 * and files, which a tool message cannot carry, in a user message after the run of tool messages);
 * `item_reference`s are looked up among the items this relay answered with; function tools and
 * `tool_choice` take chat's shape, and a custom (free-form) tool becomes a function of one string
 * argument, `input` (its grammar, if any, told in the description; `custom_tool_call` items
 * become calls with that argument); `text.format` becomes `response_format`; `max_output_tokens`
 * becomes `max_tokens` (`max_completion_tokens` for OpenAI's reasoning models); `reasoning.effort`
 * becomes `reasoning_effort`. Fields that need state the relay does not keep
 * (`previous_response_id`, `conversation`, `prompt`, `background`) are refused with a 400; what
 * else has no chat equivalent (OpenAI's built-in tools, reasoning items, `include`, …) is listed
 * in `unsupported`.
 */
export function convertFromResponsesRequest(body: ResponsesRequest, upstreamModel: string, lookup: ItemLookup): TranslatedResponsesRequest {
  for (const [field, why] of Object.entries(statefulFields)) {
    const value = body[field];
    if (value !== undefined && value !== null && value !== false) refuse(field, `The parameter '${field}' cannot be honoured: ${why}.`);
  }
  const unsupported: UnsupportedParameter[] = [];
  const messages: ChatMessage[] = [];
  if (typeof body.instructions === 'string' && body.instructions !== '') messages.push({ role: 'system', content: body.instructions });
  if (typeof body.input === 'string') messages.push({ role: 'user', content: body.input });
  else {
    // Images and files of tool outputs, waiting for the end of the run of tool messages.
    const attachments: ChatContentPart[] = [];
    const input = body.input ?? [];
    input.forEach((item, index) => {
      convertItem(item, `input[${index}]`, messages, unsupported, lookup, attachments);
      const next = input[index + 1]?.type;
      if (attachments.length > 0 && next !== 'function_call_output' && next !== 'custom_tool_call_output') messages.push({ role: 'user', content: attachments.splice(0) });
    });
  }
  // A reasoning item that no text or tool call followed: a turn with nothing in it.
  for (let index = messages.length - 1; index >= 0; index--) if (isReasoningAlone(messages[index]!)) messages.splice(index, 1);
  if (messages.length === 0) invalid('input', 'The request has nothing to answer: `input` holds no message.');

  const chatRequest: ChatRequest = { model: upstreamModel, messages };
  if (typeof body.max_output_tokens === 'number') chatRequest[maxTokensField(upstreamModel)] = body.max_output_tokens;
  if (typeof body.temperature === 'number') chatRequest.temperature = body.temperature;
  if (typeof body.top_p === 'number') chatRequest.top_p = body.top_p;
  for (const field of ['user', 'safety_identifier', 'prompt_cache_key', 'service_tier'] as const) {
    if (typeof body[field] === 'string') chatRequest[field] = body[field];
  }
  const customTools = new Set<string>();
  Object.assign(chatRequest, convertTools(body, unsupported, customTools));
  convertText(body, chatRequest, unsupported);
  const reasoning = body.reasoning;
  if (reasoning !== undefined && reasoning !== null) {
    if (typeof reasoning.effort === 'string') chatRequest.reasoning_effort = reasoning.effort;
    const summary = reasoning.summary ?? reasoning.generate_summary;
    if (summary !== undefined && summary !== null) unsupported.push({ name: 'reasoning.summary', why: 'chat answers carry no reasoning summary' });
  }
  if (body.store === true) unsupported.push({ name: 'store', why: 'the relay does not store responses (it keeps its answers\' items for an hour, for item references)' });
  if (body.truncation === 'auto') unsupported.push({ name: 'truncation', why: 'chat servers do not truncate a conversation that is too long' });
  if (body.stream === true) {
    chatRequest.stream = true;
    chatRequest.stream_options = { include_usage: true };
  }
  for (const [name, value] of Object.entries(body)) {
    if (handledFields.has(name) || Object.hasOwn(statefulFields, name) || value === undefined || value === null) continue;
    if (Array.isArray(value) && value.length === 0) continue;
    unsupported.push({ name, why: 'the relay serves this API by translation to chat, which has no such parameter' });
  }
  return { chatRequest, unsupported, customTools };
}
