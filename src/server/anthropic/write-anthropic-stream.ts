import type { FastifyReply, FastifyRequest } from 'fastify';
import { streamCut } from '../../providers/upstream-failure.js';
import { DeliveredText } from '../delivered-text.js';
import { ErrorEventRedactor } from '../redact-error-events.js';
import type { SseWriter } from '../sse-writer.js';
import { commitStream, streamFailure } from '../stream-lifecycle.js';
import { parseChunk, writeStreamValues } from '../write-stream-parts.js';
import { AnthropicEventEncoder } from './anthropic-event-encoder.js';
import type { MessagesAnswer } from './call-messages-target.js';
import { renderAnthropicError } from './render-anthropic-error.js';
import { AnthropicUsageWatcher } from './watch-anthropic-usage.js';

type StreamAnswer = Extract<MessagesAnswer, { kind: 'native-stream' | 'translated-stream' }>;

/**
 * Relays an Anthropic SSE body untouched (event by event, an `error` event without the relay's
 * upstream credentials), reading its usage on the way. Returns false if the client left.
 */
async function relayNative(answer: Extract<StreamAnswer, { kind: 'native-stream' }>, writer: SseWriter, request: FastifyRequest): Promise<boolean> {
  const watcher = new AnthropicUsageWatcher();
  const redactor = new ErrorEventRedactor(request.relay.upstreamSecrets, request.relay.provider);
  // On the request from the start: a client that leaves is metered at once (when its response
  // closes), for what it was delivered, before this loop hears of it.
  request.relay.delivered = watcher.delivered;
  try {
    const finished = await writeStreamValues(
      writer,
      answer.chunks,
      answer.first,
      (bytes) => {
        // The counts are converted only when an event changed them, not for every piece of text.
        if (watcher.push(bytes)) {
          request.relay.usage = watcher.usage;
          request.relay.startUsage = watcher.startUsage;
        }
        return redactor.push(bytes);
      },
      // Complete at message_stop: what the upstream does after it (drops the connection, leaves it open) changes nothing.
      { ended: () => watcher.complete },
    );
    if (!finished) return false;
    if (!watcher.complete && !watcher.failed) {
      // The upstream closed cleanly but never sent message_stop: the answer was cut, and the client must hear so.
      throw streamCut(request.relay.provider, 'message_stop');
    }
    const rest = redactor.end();
    if (rest.length > 0) await writer.raw(rest);
    return true;
  } finally {
    // The client got Anthropic's own error event; the relay still records the stream as failed.
    if (watcher.failed) request.relay.errorCode = 'upstream_error';
  }
}

/** Re-encodes OpenAI chunks as Anthropic events. Returns false if the client left. */
async function relayTranslated(answer: Extract<StreamAnswer, { kind: 'translated-stream' }>, writer: SseWriter, request: FastifyRequest, model: string): Promise<boolean> {
  const encoder = new AnthropicEventEncoder(model, answer.thinking);
  const first = answer.first.done === true ? undefined : parseChunk(answer.first.value);
  writer.raw(Buffer.from(encoder.start(first)));
  const finished = await writeStreamValues(writer, answer.parts, answer.first, (part) => {
    if (part.usage !== undefined) request.relay.usage = part.usage;
    else if (part.startUsage !== undefined) request.relay.startUsage = part.startUsage;
    // Kept only while no usage has come, to bill a stream that is cut for what it delivered.
    else if (request.relay.usage === undefined) (request.relay.delivered ??= new DeliveredText()).add(part.data);
    const chunk = parseChunk(part);
    return chunk === undefined ? '' : encoder.push(chunk, part.usage);
  });
  if (!finished) return false;
  writer.raw(Buffer.from(encoder.finish()));
  return true;
}

/**
 * Writes a `/v1/messages` stream to the client: an Anthropic upstream's bytes untouched, or an
 * OpenAI stream re-encoded as Anthropic events. The stream was committed once its first part
 * arrived; a failure after that ends it with one Anthropic `error` event, as Anthropic itself does.
 * @see https://docs.anthropic.com/en/docs/build-with-claude/streaming#error-events
 */
export async function writeAnthropicStream(request: FastifyRequest, reply: FastifyReply, answer: StreamAnswer, model: string): Promise<void> {
  const writer = commitStream(request, reply, answer.kind === 'native-stream' ? answer.chunks : answer.parts);
  try {
    const finished = answer.kind === 'native-stream' ? await relayNative(answer, writer, request) : await relayTranslated(answer, writer, request, model);
    if (finished && !writer.closed) reply.raw.end();
  } catch (error) {
    const clientError = streamFailure(error, request);
    if (clientError !== undefined && !writer.closed) reply.raw.end(`event: error\ndata: ${JSON.stringify(renderAnthropicError(clientError, request.id))}\n\n`);
  }
}
