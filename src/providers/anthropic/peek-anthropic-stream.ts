import type { AnthropicErrorDetail } from '../../spec/anthropic-messages.js';
import { readFirstEvent } from '../../sse/read-first-event.js';
import { streamCut } from '../upstream-failure.js';
import { classifyAnthropicStreamError } from './classify-anthropic-error.js';

/**
 * Reads an Anthropic SSE body up to its first complete event before the stream is relayed byte
 * for byte. Anthropic may accept a stream with 200 and then send `error` (`overloaded_error`) as
 * its first event; seen here, it is still a failure before the first byte, so routing can retry it
 * elsewhere. The bytes read are replayed untouched, followed by the rest of the body (see
 * `readFirstEvent`: what comes before the first event is bounded, and is not that event).
 * @see https://docs.anthropic.com/en/docs/build-with-claude/streaming#error-events
 */
export async function peekAnthropicStream(body: AsyncIterable<Buffer>, provider: string): Promise<AsyncIterable<Buffer>> {
  const iterator = body[Symbol.asyncIterator]();
  const first = await readFirstEvent(iterator, provider);
  if (first === undefined) throw streamCut(provider, 'its first event');
  if (first.event.event === 'error') {
    let detail: AnthropicErrorDetail | undefined;
    try {
      detail = (JSON.parse(first.event.data) as { error?: AnthropicErrorDetail }).error;
    } catch {
      detail = undefined;
    }
    await iterator.return?.();
    throw classifyAnthropicStreamError(detail, provider);
  }
  return (async function* replay() {
    try {
      yield first.bytes;
      for (;;) {
        const next = await iterator.next();
        if (next.done === true) return;
        yield next.value;
      }
    } finally {
      await iterator.return?.();
    }
  })();
}
