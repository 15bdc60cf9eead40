import type { Principal } from '../auth/principal.js';
import type { DeliveredText } from './delivered-text.js';
import type { Admission } from '../limits/admission-control.js';
import type { Usage } from '../spec/openai-chat.js';
import type { TokenTally } from '../spec/token-counter.js';

/** What a handler learns about a request, read once when it ends for the access log and events. */
export interface RequestState {
  startedAt: number;
  /** The route the request matched (its pattern, `/v1/chat/completions`), undefined when it matched none. */
  route: string | undefined;
  /**
   * The request's key in the ledger and in its limit reservations. The request id itself may come
   * from the client (`x-request-id`), and a client that sent one id twice must not get the second
   * request unmetered (the ledger writes a request id once): so this is the relay's own unique id,
   * the same as the request id when the relay generated that.
   */
  meterId: string;
  principal: Principal | undefined;
  requestedModel: string | undefined;
  model: string | undefined;
  provider: string | undefined;
  attempts: number;
  stream: boolean;
  usage: Usage | undefined;
  /**
   * What an upstream counted when its stream started (Anthropic's `message_start`: the prompt,
   * exactly), while its final usage has not come: a stream cut before it is billed for this prompt
   * and the text it delivered.
   */
  startUsage: Usage | undefined;
  errorCode: string | undefined;
  firstByteAt: number | undefined;
  /** Set once the answer's status line went out. */
  status: number | undefined;
  /** The public name of the model that answered (after aliases and fallbacks), for pricing and the ledger. */
  servedModel: string | undefined;
  /** Time spent on upstream attempts (and waits between them) before the answer could start. */
  upstreamMs: number | undefined;
  /** The answering attempt's own time, to its answer's start (its provider's upstream time). */
  answerAttemptMs: number | undefined;
  /** The model asked for, when a fallback model answered. */
  fallbackFrom: string | undefined;
  /** The key's hold on its limits and budget, settled when the request ends. */
  admission: Admission | undefined;
  /** What counting the prompt adds up, when the upstream reports no usage. */
  promptTally: (() => TokenTally) | undefined;
  /** What was relayed to the client while no usage had arrived, to count a stream cut short. */
  delivered: DeliveredText | undefined;
  /** Set when the response closed (sent to the end, or the client left): the request has been metered. */
  closed: boolean;
  /** Runs when the response is closed (`complete`: it was sent to the end), after the access line. */
  onClose: { closed(complete: boolean): void } | undefined;
  /** The upstream credentials of the configuration the request runs with: removed from any upstream message the client is shown. */
  upstreamSecrets: readonly string[];
}

const noSecrets: readonly string[] = Object.freeze([]);

export function newRequestState(meterId: string, route: string | undefined): RequestState {
  return {
    startedAt: performance.now(),
    route,
    meterId,
    principal: undefined,
    requestedModel: undefined,
    model: undefined,
    provider: undefined,
    attempts: 0,
    stream: false,
    usage: undefined,
    startUsage: undefined,
    errorCode: undefined,
    firstByteAt: undefined,
    status: undefined,
    servedModel: undefined,
    upstreamMs: undefined,
    answerAttemptMs: undefined,
    fallbackFrom: undefined,
    admission: undefined,
    promptTally: undefined,
    delivered: undefined,
    closed: false,
    onClose: undefined,
    upstreamSecrets: noSecrets,
  };
}

declare module 'fastify' {
  interface FastifyRequest {
    relay: RequestState;
  }
}
