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
}

export const requestEndChannel = diagnostics.channel('relay:request:end');

export function publishRequestEnd(event: RequestEndEvent): void {
  if (requestEndChannel.hasSubscribers) requestEndChannel.publish(event);
}
