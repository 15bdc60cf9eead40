import type { ChatContentPart, ChatMessage } from '../../spec/openai-chat.js';
import { UpstreamError } from '../../spec/relay-error.js';
import type { GeminiContent, GeminiPart } from './gemini-wire.js';

/**
 * The placeholder Gemini documents for replayed function calls whose real thought signature is not
 * available (history from another model, or a signature the relay no longer holds).
 * @see https://ai.google.dev/gemini-api/docs/thought-signatures
 */
export const placeholderThoughtSignature = 'skip_thought_signature_validator';

export interface ContentsConversionOptions {
  provider: string;
  /** Collects the names of content the upstream cannot take; the caller drops or refuses them. */
  unsupported: string[];
  /** The thought signature Gemini gave an earlier function call, when the relay still holds it. */
  recallSignature?: (toolCallId: string) => string | undefined;
  /** Whether the model validates thought signatures on replayed function calls (Gemini 3 does). */
  needsThoughtSignatures: boolean;
}

export interface ContentsConversion {
  contents: GeminiContent[];
  systemInstruction?: GeminiContent;
}

/**
 * Converts OpenAI chat messages to Gemini `contents` and `systemInstruction`:
 * - system and developer messages, wherever they stand, become the one `systemInstruction`;
 * - `assistant` becomes role `model`; its tool calls become `functionCall` parts;
 * - `tool` (and legacy `function`) messages become `functionResponse` parts of a user turn, named
 *   after the earlier tool call with the same id, since Gemini matches results by function name;
 * - images: data URLs become `inlineData`; http(s) and gs:// URLs become `fileData.fileUri`, which
 *   Gemini fetches itself (Files API and YouTube URIs, public URLs on models that take them); a URL
 *   Gemini cannot fetch is refused by Gemini with a 400 that reaches the client as it is;
 * - consecutive turns of the same role are merged, because Gemini expects the roles to alternate
 *   and wants all results of parallel calls in one turn.
 * @see https://ai.google.dev/api/generate-content#request-body
 * @see https://ai.google.dev/gemini-api/docs/function-calling
 * @see https://ai.google.dev/gemini-api/docs/image-understanding
 */
export function convertToGeminiContents(messages: readonly ChatMessage[], options: ContentsConversionOptions): ContentsConversion {
  const systemTexts: string[] = [];
  const contents: GeminiContent[] = [];
  // Tool-call id → function name, from the assistant messages seen so far (a later call with a reused id wins).
  const toolNames = new Map<string, string>();
  const append = (role: 'user' | 'model', parts: GeminiPart[]) => {
    if (parts.length === 0) return;
    const last = contents[contents.length - 1];
    if (last?.role === role) last.parts.push(...parts);
    else contents.push({ role, parts });
  };

  messages.forEach((message, index) => {
    switch (message.role) {
      case 'system':
      case 'developer': {
        const text = textOf(message.content, '\n');
        if (text !== '') systemTexts.push(text);
        break;
      }
      case 'user':
        append('user', userParts(message.content, options));
        break;
      case 'assistant':
        append('model', assistantParts(message, toolNames, options));
        break;
      case 'tool': {
        const id = message.tool_call_id ?? '';
        const name = toolNames.get(id);
        if (name === undefined) {
          throw refusal(
            options.provider,
            `messages[${index}]: this tool message answers tool_call_id ${JSON.stringify(id)}, but no earlier assistant message has a tool call with that id. ` +
              'Gemini matches tool results to calls by function name, so the call must be in the conversation.',
            `messages[${index}].tool_call_id`,
          );
        }
        append('user', [{ functionResponse: { name, response: toolResult(message.content) } }]);
        break;
      }
      case 'function':
        append('user', [{ functionResponse: { name: message.name ?? '', response: toolResult(message.content) } }]);
        break;
      default:
        throw refusal(options.provider, `messages[${index}].role: ${JSON.stringify(message.role)} is not a chat role.`, `messages[${index}].role`);
    }
  });

  const systemParts = systemTexts.map((text) => ({ text }));
  if (contents.length === 0 && systemParts.length > 0) {
    // Gemini refuses a request without contents; OpenAI answers one made of system messages only.
    return { contents: [{ role: 'user', parts: systemParts }] };
  }
  return systemParts.length > 0 ? { contents, systemInstruction: { parts: systemParts } } : { contents };
}

function userParts(content: ChatMessage['content'], options: ContentsConversionOptions): GeminiPart[] {
  if (typeof content === 'string') return content === '' ? [] : [{ text: content }];
  if (!Array.isArray(content)) return [];
  const parts: GeminiPart[] = [];
  for (const part of content) {
    const converted = userPart(part);
    if (converted === undefined) options.unsupported.push(`messages[].content[].${describePart(part)}`);
    else if (converted !== null) parts.push(converted);
  }
  return parts;
}

/** One content part; `null` for an empty one that Gemini would refuse, `undefined` when it cannot be sent. */
function userPart(part: ChatContentPart): GeminiPart | null | undefined {
  switch (part.type) {
    case 'text':
      return typeof part.text === 'string' && part.text !== '' ? { text: part.text } : null;
    case 'image_url':
      return typeof part.image_url?.url === 'string' ? mediaPart(part.image_url.url) : undefined;
    case 'input_audio': {
      const audio = part.input_audio as { data?: unknown; format?: unknown } | undefined;
      if (typeof audio?.data !== 'string') return undefined;
      return { inlineData: { mimeType: `audio/${typeof audio.format === 'string' ? audio.format : 'wav'}`, data: audio.data } };
    }
    case 'file': {
      const file = part.file as { file_data?: unknown } | undefined;
      // A `file_id` names a file in OpenAI's storage, which Gemini cannot reach.
      return typeof file?.file_data === 'string' ? mediaPart(file.file_data) : undefined;
    }
    default:
      return undefined;
  }
}

function mediaPart(url: string): GeminiPart | undefined {
  if (url.startsWith('data:')) {
    const comma = url.indexOf(',');
    if (comma === -1) return undefined;
    const header = url.slice(5, comma);
    const payload = url.slice(comma + 1);
    const [mimeType = 'application/octet-stream', ...flags] = header.split(';');
    const data = flags.includes('base64') ? payload : percentDecode(payload).toString('base64');
    return { inlineData: { mimeType: mimeType === '' ? 'application/octet-stream' : mimeType, data } };
  }
  if (/^(https?|gs):\/\//i.test(url)) {
    const mimeType = guessMimeType(url);
    return { fileData: mimeType === undefined ? { fileUri: url } : { fileUri: url, mimeType } };
  }
  return undefined;
}

const mimeTypesByExtension: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
  gif: 'image/gif',
  heic: 'image/heic',
  heif: 'image/heif',
  pdf: 'application/pdf',
  mp3: 'audio/mp3',
  wav: 'audio/wav',
  mp4: 'video/mp4',
};

/**
 * The bytes of a data URL's payload that is not base64, percent-decoded as browsers and the WHATWG
 * URL standard do it: `%` and two hex digits is that byte, and anything else, a `%` without two hex
 * digits included ("We are 100% sure"), is taken as it is (its UTF-8 bytes). `decodeURIComponent`
 * throws on such a `%`, and on bytes that are not UTF-8 (`%FF`), which a data URL may carry.
 * @see https://url.spec.whatwg.org/#percent-decode
 */
function percentDecode(payload: string): Buffer {
  const bytes = Buffer.from(payload, 'utf8');
  const decoded = Buffer.alloc(bytes.length);
  let length = 0;
  for (let position = 0; position < bytes.length; position++) {
    const hex = bytes[position] === 0x25 ? bytes.toString('latin1', position + 1, position + 3) : '';
    if (/^[0-9a-fA-F]{2}$/.test(hex)) {
      decoded[length++] = Number.parseInt(hex, 16);
      position += 2;
    } else {
      decoded[length++] = bytes[position]!;
    }
  }
  return decoded.subarray(0, length);
}

function guessMimeType(url: string): string | undefined {
  const path = url.split(/[?#]/, 1)[0] ?? '';
  const extension = path.slice(path.lastIndexOf('.') + 1).toLowerCase();
  return Object.hasOwn(mimeTypesByExtension, extension) ? mimeTypesByExtension[extension] : undefined;
}

function assistantParts(message: ChatMessage, toolNames: Map<string, string>, options: ContentsConversionOptions): GeminiPart[] {
  const parts: GeminiPart[] = [];
  const text = textOf(message.content, '');
  if (text !== '') parts.push({ text });
  let first = true;
  for (const call of message.tool_calls ?? []) {
    toolNames.set(call.id, call.function.name);
    const part: GeminiPart = { functionCall: { name: call.function.name, args: toolArguments(call.function.arguments) } };
    // Gemini puts the signature on the first call of a step only (parallel calls share it).
    const signature = options.recallSignature?.(call.id) ?? (first && options.needsThoughtSignatures ? placeholderThoughtSignature : undefined);
    if (signature !== undefined) part.thoughtSignature = signature;
    parts.push(part);
    first = false;
  }
  const legacy = message.function_call as { name?: unknown; arguments?: unknown } | undefined;
  if (typeof legacy?.name === 'string') {
    const part: GeminiPart = { functionCall: { name: legacy.name, args: toolArguments(typeof legacy.arguments === 'string' ? legacy.arguments : '{}') } };
    // A legacy call has no id to recall its signature by.
    if (first && options.needsThoughtSignatures) part.thoughtSignature = placeholderThoughtSignature;
    parts.push(part);
  }
  return parts;
}

/** Gemini wants arguments as an object; OpenAI carries them as JSON text, which a client may have mangled. */
function toolArguments(text: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(text === '' ? '{}' : text);
    return isPlainObject(parsed) ? parsed : { value: parsed };
  } catch {
    return { arguments: text };
  }
}

/** A tool result as Gemini's `response` object: the JSON object the tool returned, else `{content}`. */
function toolResult(content: ChatMessage['content']): Record<string, unknown> {
  const text = textOf(content, '');
  try {
    const parsed: unknown = JSON.parse(text);
    return isPlainObject(parsed) ? parsed : { content: parsed };
  } catch {
    return { content: text };
  }
}

function textOf(content: ChatMessage['content'], separator: string): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part) => (typeof part.text === 'string' ? part.text : typeof part.refusal === 'string' ? part.refusal : ''))
    .filter((text) => text !== '')
    .join(separator);
}

function describePart(part: ChatContentPart): string {
  if (part.type === 'file' && (part.file as { file_id?: unknown } | undefined)?.file_id !== undefined) return 'file.file_id';
  if (part.type === 'image_url') return 'image_url';
  return String(part.type);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function refusal(provider: string, message: string, param: string): UpstreamError {
  return new UpstreamError(`${provider}: ${message}`, {
    reason: 'invalid_request',
    status: 400,
    provider,
    upstreamMessage: message,
    upstreamType: 'invalid_request_error',
    upstreamCode: 'invalid_value',
    upstreamParam: param,
  });
}
