import { UpstreamError } from '../spec/relay-error.js';

/**
 * The most bytes of one upstream stream event (or of what comes before a stream's first event)
 * the relay holds while it waits for the event's end: far above any real event (a chat chunk is a
 * few hundred bytes; a Responses API `response.completed` with generated images a few MB), far below
 * a process's memory. An upstream whose event grows past it without ending (a broken upstream or
 * proxy that never writes the blank line) is given up: the stream fails, and its call is aborted.
 * Every reader of upstream streams (the chat passthrough, the SSE parser, the error-event redactor,
 * the readers of a stream's first event) holds at most this much of one event.
 */
export const maxEventBytes = 16 * 1024 * 1024;

/** The failure of a stream whose event grew past `maxEventBytes` without its end: the upstream's (retried before the first byte, an error event after it). */
export function eventTooLarge(provider: string | undefined): UpstreamError {
  return new UpstreamError(`${provider ?? 'upstream'}: a stream event grew past ${maxEventBytes} bytes without its end`, { reason: 'provider_internal', provider });
}
