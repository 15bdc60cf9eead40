import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CacheWriteLifetime } from '../billing/price-table.js';
import { isMetered, type Admission, type OpenEndedOutput } from '../limits/admission-control.js';
import type { Principal } from '../auth/principal.js';
import { RelayError } from '../spec/relay-error.js';
import type { TokenTally } from '../spec/token-counter.js';
import type { RelayServices } from './relay-services.js';
import { fallbackModels } from './output-limit.js';
import { audioPromptTokens, dataUrlBase64, PdfInflateBudget, pdfPromptTokens } from './media-tokens.js';

export interface PromptEstimate {
  /** The prompt's size for admission's estimate, without building its text (`messagesBytes`, `textPrompt`). */
  promptBytes: () => number;
  /**
   * What counting the prompt adds up, when the upstream reports no usage (a stream cut before it):
   * read only then. Conversations give `messagesTally`, so that an image counts as
   * `imagePromptTokens` instead of its base64 being tokenized as text.
   */
  promptTally: () => TokenTally;
  /** The longest lifetime of the request's prompt-cache breakpoints (`marksCacheBreakpoint`), when its prompt may be written to the cache. */
  mayWriteCache?: () => CacheWriteLifetime | undefined;
  /** The output tokens the request asks for at most (its max_tokens), if it says. */
  maxOutputTokens: number | undefined;
  /**
   * How many completions the request asks for, each of which may use `maxOutputTokens` (chat's `n`;
   * a legacy completion's prompts times its `best_of` or `n`). Default 1.
   */
  completions?: number;
  /** The models the request itself names to fall back to (`fallbacks`), besides the configured ones. */
  fallbacks?: readonly string[] | undefined;
  /**
   * For a request that gives no output limit, on a route that can send one: what its deployments
   * may write (`openEndedOutput`), read only for a metered key, whose money is then reserved for
   * that and never for less (see `OpenEndedOutput`).
   */
  openEnded?: () => { tokens: number; bounded: boolean };
}

/**
 * Admission of a request before it goes upstream: reserves its worst case against the key's limits,
 * budget and balance (or throws the 429), and puts OpenAI's `x-ratelimit-*` headers on the answer.
 * Returns a promise only while a store or a lookup is awaited (with the in-memory store, only for
 * the first request of an account whose currency is not known yet).
 * Keys without limits skip this at no cost (the prompt is read only when a key has limits).
 */
export function admitRequest(request: FastifyRequest, reply: FastifyReply, services: RelayServices, model: string, estimate: PromptEstimate): Promise<void> | undefined {
  request.relay.promptTally = estimate.promptTally;
  const perCompletion = estimate.maxOutputTokens ?? services.billing.defaultMaxTokens;
  const maxOutputTokens = estimate.completions === undefined ? perCompletion : perCompletion * estimate.completions;
  const principal = request.relay.principal!;
  const fallbacks = () => fallbackModels(services.router, model, principal, estimate.fallbacks).map((fallback) => fallback.model);
  // Without max_tokens, the output is the relay's estimate (the TPM window counts it as such: `EstimatedOutput`).
  const output = estimate.maxOutputTokens === undefined ? { estimated: maxOutputTokens } : maxOutputTokens;
  const admitted = services.admission.admit(principal, model, estimate, output, request.relay.meterId, fallbacks, openEnded(estimate, principal));
  if (admitted instanceof Promise) return admitted.then((admission) => holdUnlessGone(request, reply, admission));
  return holdUnlessGone(request, reply, admitted);
}

/**
 * Admission of a request that uses no tokens and costs nothing (`AdmissionControl.admitFree`): it
 * counts in the key's requests per minute and holds a parallel slot, or is refused with the 429.
 */
export function admitFreeRequest(request: FastifyRequest, reply: FastifyReply, services: RelayServices): Promise<void> | undefined {
  const admitted = services.admission.admitFree(request.relay.principal!, request.relay.meterId);
  if (admitted instanceof Promise) return admitted.then((admission) => holdUnlessGone(request, reply, admission));
  return holdUnlessGone(request, reply, admitted);
}

/**
 * A client that left before its admission (while it was awaited, or while the route awaited
 * something before it: `/v1/responses` reads stored responses first) has been metered already
 * (with nothing reserved) and will never hear an answer: its reservation is given back, and the
 * request goes no further, so nothing reaches the upstream and no slot or budget stays held.
 */
function holdUnlessGone(request: FastifyRequest, reply: FastifyReply, admission: Admission | undefined): undefined | Promise<void> {
  if (!request.relay.closed) {
    hold(request, reply, admission);
    return undefined;
  }
  const gone = () => {
    throw new RelayError('The client closed the connection before the request was admitted.', { status: 499, type: 'invalid_request_error', code: 'client_closed_request' });
  };
  const released = admission?.release();
  if (released instanceof Promise) return released.then(gone, gone);
  gone();
}

function hold(request: FastifyRequest, reply: FastifyReply, admission: Admission | undefined): void {
  if (admission === undefined) return;
  request.relay.admission = admission;
  reply.headers(admission.headers);
  if (admission.outputCap !== undefined) reply.header('x-relay-max-tokens', String(admission.outputCap));
}

/** A metered key's request that gives no output limit, on a route that can send one: its ceiling (`OpenEndedOutput`). */
function openEnded(estimate: PromptEstimate, principal: Principal): OpenEndedOutput | undefined {
  if (estimate.maxOutputTokens !== undefined || estimate.openEnded === undefined || !isMetered(principal)) return undefined;
  const output = estimate.openEnded();
  return { ceiling: output.tokens, completions: estimate.completions ?? 1, sendCeiling: !output.bounded };
}

/**
 * How many completions a request asks for, from its `n` (and a legacy completion's `best_of`): the
 * upstream writes, and bills, that many. A value that is no whole number above 1 counts as 1 (the
 * upstream refuses what it cannot take).
 */
export function completionsAsked(...values: unknown[]): number {
  let most = 1;
  for (const value of values) if (typeof value === 'number' && Number.isSafeInteger(value) && value > most) most = value;
  return most;
}

/** The prompt of a request whose prompt is one text (an embedding's input, a legacy completion's prompt). */
export function textPrompt(text: () => string): Pick<PromptEstimate, 'promptBytes' | 'promptTally'> {
  return { promptBytes: () => Buffer.byteLength(text()), promptTally: () => ({ texts: [text()], tokens: 0 }) };
}

/**
 * Tokens an image in a prompt is estimated at, whatever its form. Vendors bill an image by its
 * pixels, not by the bytes of its URL or of its base64 data: a 12-megapixel photo is ~1 100 tokens
 * at Gemini, ~1 600 at Claude 4.x and ~4 000 at Claude 5.5, ~1 450 at most at GPT-4o's high detail
 * (several thousand where a GPT model bills the original resolution); a 1 MB screenshot's base64 read
 * as text (~450 000 tokens at 3 bytes a token) would refuse a request no TPM limit could hold.
 */
export const imagePromptTokens = 5000;

/** Tokens each message adds for its framing (role and separators: OpenAI's chat format counts 3–4). */
const messageFramingTokens = 4;

/**
 * The size admission estimates a conversation's prompt from (`PromptEstimate.promptBytes`, 3 bytes a
 * token): the UTF-8 size of each message's text and of its other parts and tool calls as JSON,
 * without building the text (a long prompt is not copied again), plus each message's framing; an
 * image, audio or PDF part counts as the tokens it is estimated at (`mediaTokens`), not as its bytes.
 */
export function messagesBytes(messages: readonly PromptMessage[]): number {
  const size = { bytes: Math.max(0, messages.length - 1) + messages.length * messageFramingTokens * 3 };
  const visitor: PromptVisitor = {
    pdfs: new PdfInflateBudget(),
    text: (text) => {
      size.bytes += Buffer.byteLength(text);
    },
    media: (tokens) => {
      size.bytes += tokens * 3;
    },
  };
  for (const message of messages) visitMessage(message, visitor);
  return size.bytes;
}

/**
 * What counting a conversation's prompt adds up (when the upstream reported no usage): each
 * message's text and its other parts as JSON for the tokenizer, each message's framing, and each
 * image, audio or PDF part as the tokens it is estimated at (`mediaTokens`) — base64 is never
 * tokenized (it would be billed at ~0.7 token a byte).
 */
export function messagesTally(messages: readonly PromptMessage[], tally: TokenTally = { texts: [], tokens: 0 }): TokenTally {
  tally.tokens += messages.length * messageFramingTokens;
  const visitor: PromptVisitor = {
    pdfs: new PdfInflateBudget(),
    text: (text) => {
      tally.texts.push(text);
    },
    media: (tokens) => {
      tally.tokens += tokens;
    },
  };
  for (const message of messages) visitMessage(message, visitor);
  return tally;
}

/** A chat or Messages API message, as far as its prompt tokens go. */
interface PromptMessage {
  content?: unknown;
  /** An OpenAI assistant message's tool calls (their arguments: often a whole file an agent wrote). */
  tool_calls?: unknown;
  /** The legacy form of one tool call. */
  function_call?: unknown;
}

/** A message's content, then its tool calls as JSON. */
function visitMessage(message: PromptMessage, visitor: PromptVisitor): void {
  visitContent(message.content, visitor, 1);
  if (message.tool_calls !== undefined && message.tool_calls !== null) visitor.text(JSON.stringify(message.tool_calls));
  if (message.function_call !== undefined && message.function_call !== null) visitor.text(JSON.stringify(message.function_call));
}

interface PromptVisitor {
  /** What the prompt's PDFs may inflate while their pages are counted, together. */
  pdfs: PdfInflateBudget;
  text(text: string): void;
  /** An image, audio or a document, as the tokens it is estimated at (`mediaTokens`). */
  media(tokens: number): void;
}

/**
 * The pieces of a message's content, in order: its text (a string, or a part's `text`), every
 * other part as JSON, and each image, audio or PDF — in the message or in a tool result's blocks
 * (`depth` levels down) — as the tokens it is estimated at (`mediaTokens`), without its data.
 */
function visitContent(content: unknown, visitor: PromptVisitor, depth: number): void {
  if (typeof content === 'string') return visitor.text(content);
  if (!Array.isArray(content)) {
    if (content !== undefined && content !== null) visitor.text(JSON.stringify(content));
    return;
  }
  for (const part of content) {
    const type = part !== null && typeof part === 'object' ? (part as { type?: unknown }).type : undefined;
    const media = mediaTokens(type, part, visitor.pdfs);
    if (media !== undefined) visitor.media(media);
    else if (type === 'text' && typeof (part as { text?: unknown }).text === 'string') visitor.text((part as { text: string }).text);
    else if (depth > 0 && type === 'tool_result' && Array.isArray((part as { content?: unknown }).content)) {
      const { content: inner, ...rest } = part as { content: unknown[] };
      visitor.text(JSON.stringify(rest));
      visitContent(inner, visitor, depth - 1);
    } else visitor.text(JSON.stringify(part));
  }
}

/**
 * The tokens a part that is no text is estimated at, or undefined for a part estimated by its JSON:
 * an image (OpenAI `image_url`, Anthropic `image`) `imagePromptTokens` whatever its form; audio
 * (`input_audio`) by its length (`audioPromptTokens`); a PDF given as data (an OpenAI `file` part's
 * data URL, an Anthropic `document` block's base64) by its pages (`pdfPromptTokens`, within what
 * the prompt's PDFs may inflate together: `pdfs`). A document
 * given as text counts as its JSON (which holds the text); one given by URL or file id, whose size
 * the relay does not see, as its JSON too.
 */
function mediaTokens(type: unknown, part: unknown, pdfs: PdfInflateBudget): number | undefined {
  switch (type) {
    case 'image_url':
    case 'image':
      return imagePromptTokens;
    case 'input_audio': {
      const audio = (part as { input_audio?: { data?: unknown; format?: unknown } }).input_audio;
      return typeof audio?.data === 'string' ? audioPromptTokens(audio.data, audio.format) : undefined;
    }
    case 'file': {
      const data = dataUrlBase64((part as { file?: { file_data?: unknown } }).file?.file_data, 'application/pdf');
      return data === undefined ? undefined : pdfPromptTokens(data, pdfs);
    }
    case 'document': {
      const source = (part as { source?: { type?: unknown; media_type?: unknown; data?: unknown } }).source;
      return source?.type === 'base64' && source.media_type === 'application/pdf' && typeof source.data === 'string' ? pdfPromptTokens(source.data, pdfs) : undefined;
    }
    default:
      return undefined;
  }
}

/**
 * The UTF-8 size of a part of the prompt that is no message (tool definitions, a response schema),
 * as JSON, plus a separator; 0 when the request has none. Upstreams bill such parts as prompt tokens.
 */
export function jsonBytes(value: unknown): number {
  return value === undefined || value === null ? 0 : Buffer.byteLength(JSON.stringify(value)) + 1;
}

/**
 * Whether a chat or Anthropic Messages request marks a prompt-cache breakpoint (`cache_control`)
 * anywhere the upstream reads one: on the request itself (Anthropic's automatic caching), a system
 * block, a tool, a message, a content block or a block inside a tool result; and if so, the longest
 * lifetime one asks for: `1h` when a breakpoint's `ttl` says so, else Anthropic's default `5m`.
 * Anthropic writes the prompt to its cache only for such a request, and for an hour only when asked.
 * @see https://docs.anthropic.com/en/docs/build-with-claude/prompt-caching
 */
export function marksCacheBreakpoint(body: { system?: unknown; tools?: unknown; messages?: unknown; [field: string]: unknown }): CacheWriteLifetime | undefined {
  const found: { lifetime: CacheWriteLifetime | undefined } = { lifetime: undefined };
  // Each step stops at the first breakpoint asking for an hour: nothing is longer.
  const hour = marked(body, found) || anyMarked(body.system, 1, found) || anyMarked(body.tools, 0, found) || anyMarked(body.messages, 3, found);
  return hour ? '1h' : found.lifetime;
}

/** Notes the breakpoint `value` carries, if any, in `found`; true once one asks for an hour (the longest: no need to look further). */
function marked(value: unknown, found: { lifetime: CacheWriteLifetime | undefined }): boolean {
  if (value === null || typeof value !== 'object') return false;
  const cacheControl = (value as { cache_control?: unknown }).cache_control;
  if (cacheControl == null) return false;
  if (typeof cacheControl === 'object' && (cacheControl as { ttl?: unknown }).ttl === '1h') {
    found.lifetime = '1h';
    return true;
  }
  found.lifetime ??= '5m';
  return false;
}

/** Notes the breakpoints of the items of `values` (and of their `content`, `depth` levels down); true once one asks for an hour. */
function anyMarked(values: unknown, depth: number, found: { lifetime: CacheWriteLifetime | undefined }): boolean {
  if (!Array.isArray(values)) return false;
  for (const value of values) {
    if (marked(value, found)) return true;
    if (depth > 0 && value !== null && typeof value === 'object' && anyMarked((value as { content?: unknown }).content, depth - 1, found)) return true;
  }
  return false;
}
