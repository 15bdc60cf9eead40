import diagnostics from 'node:diagnostics_channel';
import type { Usage } from '../spec/openai-chat.js';

/**
 * What the core publishes when a request ends. Metrics and the ledger subscribe; the request path
 * never waits for them. Publishing costs nothing while nobody subscribes.
 */
export interface RequestEndEvent {
  requestId: string;
  route: string;
  principalId: string | undefined;
  principalName: string | undefined;
  requestedModel: string | undefined;
  model: string | undefined;
  provider: string | undefined;
  status: number;
  errorCode: string | undefined;
  stream: boolean;
  attempts: number;
  usage: Usage | undefined;
  startedAt: number;
  durationMs: number;
  /** Time from the request's arrival to the first byte of the answer. */
  firstByteMs: number | undefined;
  /** True when the client went away before the answer ended. */
  clientAborted: boolean;
  /** The public name of the model that answered. */
  servedModel: string | undefined;
  /** Time spent waiting on upstreams (all attempts and waits) before the answer could start. */
  upstreamMs: number | undefined;
  /** The answering attempt's own time, to its answer's start: the answering provider's share of `upstreamMs`. */
  answerAttemptMs: number | undefined;
  /** The model asked for, when a fallback model answered. */
  fallbackFrom: string | undefined;
}

/** One failed upstream attempt (retried or not). */
export interface AttemptFailedEvent {
  provider: string;
  deployment: string;
  reason: string;
  /** The attempt's time, from its start to its failure. */
  durationMs: number;
}

/** What a request cost, once its usage was settled. */
export interface RequestMeteredEvent {
  model: string;
  provider: string | undefined;
  currency: string;
  costMicros: number;
  officialCostMicros: number;
  promptTokens: number;
  completionTokens: number;
}

export const requestEndChannel = diagnostics.channel('relay:request:end');

export function publishRequestEnd(event: RequestEndEvent): void {
  if (requestEndChannel.hasSubscribers) requestEndChannel.publish(event);
}

export const attemptFailedChannel = diagnostics.channel('relay:attempt:failed');

export function publishAttemptFailed(event: AttemptFailedEvent): void {
  if (attemptFailedChannel.hasSubscribers) attemptFailedChannel.publish(event);
}

export const requestMeteredChannel = diagnostics.channel('relay:request:metered');

export function publishRequestMetered(event: RequestMeteredEvent): void {
  if (requestMeteredChannel.hasSubscribers) requestMeteredChannel.publish(event);
}
