import type { ProviderCall } from '../providers/provider.js';
import { outputLimitKey, refusedOutputLimit } from '../providers/output-limit-refusal.js';
import { rememberedRefusals, rememberRefusal } from '../providers/refusal-memory.js';
import type { ChatRequest } from '../spec/openai-chat.js';
import { RelayError, UpstreamError } from '../spec/relay-error.js';
import { sendInLimitField, type RefusingUpstream } from './output-limit.js';

/** A parameter the chat side cannot honour, with why (reported or refused by the route). */
export interface UnsupportedParameter {
  name: string;
  why: string;
}

/** A front door's request as chat (`/v1/messages`, `/v1/responses`), with what the translation could not carry. */
export interface TranslatedRequest {
  chatRequest: ChatRequest;
  unsupported: UnsupportedParameter[];
  /** The client's fields the chat request's `reasoning_effort` was made of, reported if the upstream refuses it. */
  reasoningFrom?: string[];
}

/**
 * Applies what a translation could not carry to one attempt: in strict mode the first parameter
 * is refused with a 400 naming it (`servedBy` says what cannot honour it); otherwise each is
 * dropped and listed in `x-relay-dropped-params`, under `droppedName` of its name.
 */
export function applyUnsupported(unsupported: readonly UnsupportedParameter[], call: ProviderCall, servedBy: string, droppedName: (name: string) => string = (name) => name): void {
  const first = unsupported[0];
  if (first !== undefined && call.strict) {
    throw new RelayError(`The parameter '${first.name}' cannot be honoured by ${servedBy}: ${first.why}. Remove it, or send the request without strict mode to have it dropped.`, {
      status: 400,
      type: 'invalid_request_error',
      code: 'unsupported_parameter',
      param: first.name,
    });
  }
  for (const parameter of unsupported) call.dropped.push(droppedName(parameter.name));
}

/**
 * The OpenAI error codes of a refused parameter: one the model does not take at all (`top_p`, `stop`
 * on OpenAI's reasoning models), a value it does not take (a `temperature` other than 1 there), and
 * an array longer than the upstream takes (`stop` beyond 4 sequences).
 */
const refusalCodes = new Set(['unsupported_parameter', 'unsupported_value', 'array_above_max_length']);

/**
 * The field a 400 refuses, and how: OpenAI names it in `param` with a code (`unsupported_parameter`,
 * …); Azure OpenAI and servers modelled on OpenAI's older API name it only in the message
 * ("Unrecognized request argument supplied: reasoning_effort"), read as a parameter not taken.
 */
function refusedField(error: UpstreamError): { field: string; code: string } | undefined {
  const field = error.upstreamParam;
  const code = error.upstreamCode;
  if (typeof field === 'string' && typeof code === 'string' && refusalCodes.has(code)) return { field, code };
  const unrecognized = /^Unrecognized request arguments? supplied: ([A-Za-z_]+)$/.exec(error.upstreamMessage?.trim() ?? '');
  return unrecognized === null ? undefined : { field: unrecognized[1]!, code: 'unsupported_parameter' };
}

/** What an upstream refused: a field, and the longest array of it the upstream takes (0: the field not at all). */
interface Refusal {
  field: string;
  longest: number;
}

/** The refusal `error` is, when it is one of a field of `droppable` (chat field → the client's name for it, or the names of the fields it was made of). */
function refusalIn(error: unknown, droppable: Readonly<Record<string, string | readonly string[]>>): Refusal | undefined {
  if (!(error instanceof UpstreamError) || error.status !== 400 || error.reason !== 'invalid_request') return undefined;
  const refused = refusedField(error);
  if (refused === undefined || !Object.hasOwn(droppable, refused.field)) return undefined;
  const longest = refused.code === 'array_above_max_length' ? Number(/maximum length (\d+)/.exec(error.upstreamMessage ?? '')?.[1] ?? 0) : 0;
  return { field: refused.field, longest };
}

/**
 * The request without what `refusal` says the upstream does not take, with the names to report, or
 * undefined when the request does not carry it. An array too long is cut to the length the
 * upstream takes (OpenAI's "Expected an array with maximum length 4"), its other items reported by
 * position; a refusal that names no shorter length drops the field whole.
 */
function withoutRefused(refusal: Refusal, chatRequest: ChatRequest, droppable: Readonly<Record<string, string | readonly string[]>>): { chatRequest: ChatRequest; dropped: string[] } | undefined {
  const { field, longest } = refusal;
  const value = (chatRequest as Record<string, unknown>)[field];
  if (value === undefined || value === null) return undefined;
  const names = droppable[field]!;
  if (typeof names === 'string' && Array.isArray(value) && longest > 0) {
    if (longest >= value.length) return undefined;
    const dropped: string[] = [];
    for (let index = longest; index < value.length; index++) dropped.push(`${names}[${index}]`);
    return { chatRequest: { ...chatRequest, [field]: value.slice(0, longest) }, dropped };
  }
  const copy: Record<string, unknown> = { ...chatRequest };
  delete copy[field];
  return { chatRequest: copy as ChatRequest, dropped: typeof names === 'string' ? [names] : [...names] };
}

/**
 * The request with its output limit (`max_completion_tokens`, else `max_tokens`) lowered to
 * `limit`, or undefined when it has none above it: the model cannot write more anyway, so the
 * answer is the one the client would have got (ending with a length stop when it reaches the limit).
 */
function withOutputLimit(chatRequest: ChatRequest, limit: number): ChatRequest | undefined {
  const field = chatRequest.max_completion_tokens != null ? 'max_completion_tokens' : chatRequest.max_tokens != null ? 'max_tokens' : undefined;
  if (field === undefined || !(Number(chatRequest[field]) > limit)) return undefined;
  return { ...chatRequest, [field]: limit };
}

/** The request without what its upstream refused lately (reported as when it refuses it), so that it is not refused again. */
function withoutRemembered(chatRequest: ChatRequest, call: ProviderCall, droppable: Readonly<Record<string, string | readonly string[]>>, upstream: RefusingUpstream): ChatRequest {
  const remembered = rememberedRefusals(upstream.provider, upstream.model);
  if (remembered === undefined) return chatRequest;
  let request = chatRequest;
  for (const [field, longest] of remembered) {
    if (field === outputLimitKey) {
      request = withOutputLimit(request, longest) ?? request;
      continue;
    }
    if (call.strict || !Object.hasOwn(droppable, field)) continue;
    const without = withoutRefused({ field, longest }, request, droppable);
    if (without === undefined) continue;
    request = without.chatRequest;
    call.dropped.push(...without.dropped);
  }
  return request;
}

/**
 * Sends a translated request, and sends it again to the same upstream without each optional
 * sampling parameter of `droppable` that the upstream refuses with a 400 naming it (OpenAI's
 * reasoning models take no `temperature` other than 1, no `top_p`, and some no `stop`; models that
 * do not reason, such as gpt-4o, take no `reasoning_effort`; which models, changes with their
 * versions): the translation set them, the client could not know that model's rules, and the
 * answer means the same without them (a model that does not reason answers without reasoning). Each is listed in
 * `x-relay-dropped-params`. More stop sequences than the upstream takes (OpenAI: 4) are cut to the
 * first ones it takes, the others reported by position (`stop_sequences[4]`). OpenAI names one
 * refused parameter per answer, so a request may go once more per such refusal, and each call
 * carries less than the one before. The refused calls produced nothing,
 * cost nothing and are no attempts of their own: the request is admitted, metered and counted
 * once. A refusal is remembered for the `upstream` model for 10 minutes: the requests that follow
 * go without what it refused from the start (reported all the same), instead of each paying a
 * refused call first (Claude Code asks for thinking on every turn, which gpt-4o refuses). In strict
 * mode the refusal reaches the client, as any other refused parameter, and nothing is left out
 * beforehand. Two refusals change the request without leaving anything out, in strict mode too, and
 * are remembered the same way: an output limit above the model's (lowered to the limit the refusal
 * names: `refusedOutputLimit`), and `max_tokens` on a model that takes only `max_completion_tokens`
 * (`sendInLimitField`).
 */
export async function sendWithoutRefused<T>(chatRequest: ChatRequest, call: ProviderCall, droppable: Readonly<Record<string, string | readonly string[]>>, send: (chatRequest: ChatRequest) => Promise<T>, upstream: RefusingUpstream): Promise<T> {
  let request = withoutRemembered(chatRequest, call, droppable, upstream);
  for (;;) {
    try {
      return await sendInLimitField(request, send, upstream);
    } catch (error) {
      const limit = refusedOutputLimit(error);
      const lowered = limit === undefined ? undefined : withOutputLimit(request, limit.limit);
      if (lowered !== undefined) {
        if (limit!.ofModel) rememberRefusal(upstream.provider, upstream.model, outputLimitKey, limit!.limit);
        request = lowered;
        continue;
      }
      const refusal = call.strict ? undefined : refusalIn(error, droppable);
      const retry = refusal === undefined ? undefined : withoutRefused(refusal, request, droppable);
      if (retry === undefined) throw error;
      rememberRefusal(upstream.provider, upstream.model, refusal!.field, refusal!.longest);
      request = retry.chatRequest;
      call.dropped.push(...retry.dropped);
    }
  }
}
