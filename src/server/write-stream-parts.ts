// What the front doors that translate or relay another API's answers (`/v1/messages`, `/v1/responses`)
// share: reading a chat part, writing a committed stream's values, and taking a native answer.
import { streamError } from '../providers/openai-compatible/read-openai-stream.js';
import { releaseEndedBody } from '../providers/post-upstream.js';
import type { JsonResult, RawStream, StreamPart } from '../providers/provider.js';
import { streamCut } from '../providers/upstream-failure.js';
import { readFirstEvent } from '../sse/read-first-event.js';
import type { SseEvent } from '../sse/sse-parser.js';
import type { ChatCompletionChunk } from '../spec/openai-chat.js';
import type { SseWriter } from './sse-writer.js';

/** A part's chat chunk, for a translation to read; undefined when its data is not a JSON object. */
export function parseChunk(part: StreamPart): ChatCompletionChunk | undefined {
  try {
    const parsed = JSON.parse(part.data) as ChatCompletionChunk;
    return parsed !== null && typeof parsed === 'object' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** What `writeStreamValues` may be told of a stream. */
export interface StreamValuesOptions {
  /** Before a value is written: something to wait for first, when it returns one. */
  holdBack?: () => Promise<unknown> | undefined;
  /**
   * After a value is written: whether it held the event that ends the stream (`[DONE]`,
   * `response.completed`, `message_stop`). The stream is then complete, whatever the upstream does
   * next: nothing more is read, and its body is let go of (`releaseEndedBody`).
   */
  ended?: () => boolean;
}

/**
 * Writes what each value of a committed stream becomes (`toBytes`: the upstream's bytes as they
 * are, or a translation's events; empty writes nothing), from `first` on, waiting for the client
 * when it reads slower than the upstream writes, and before writing for what `holdBack` returns,
 * when it returns something. Returns false when the client left (the upstream call is then
 * ended), true when the stream went to its end. On a failure the values are closed (an upstream
 * call still reading is aborted) before it is thrown.
 */
export async function writeStreamValues<T>(
  writer: SseWriter,
  values: AsyncIterator<T>,
  first: IteratorResult<T>,
  toBytes: (value: T) => Buffer | string,
  options: StreamValuesOptions = {},
): Promise<boolean> {
  const { holdBack, ended } = options;
  try {
    for (let current = first; current.done !== true; current = await values.next()) {
      const bytes = toBytes(current.value);
      const held = holdBack?.();
      if (held !== undefined) await held;
      if (bytes.length > 0) {
        const pending = writer.raw(typeof bytes === 'string' ? Buffer.from(bytes) : bytes);
        if (pending !== undefined) await pending;
      }
      if (writer.closed) {
        await values.return?.();
        return false;
      }
      if (ended?.() === true) {
        releaseEndedBody(values);
        return true;
      }
    }
  } catch (error) {
    values.return?.().catch(() => {});
    throw error;
  }
  return true;
}

/** An upstream's answer in the client's own format, relayed as it came: JSON, or an SSE body whose first chunk is already read. */
export type NativeAnswer = { kind: 'native-json'; result: JsonResult } | { kind: 'native-stream'; chunks: AsyncIterator<Buffer>; first: IteratorResult<Buffer> };

/**
 * A native call's result as an answer. A stream's first chunk is read here, inside the attempt, so
 * that a failure before it can still be retried elsewhere: a stream that ends before its first
 * chunk (a 200 with an empty body), or whose first event is an error event, is such a failure, as
 * it is for a chat stream, and is never committed to the client. The first chunk is the bytes up to
 * the end of the first event with data: comments and events without data before it (keep-alives)
 * do not start the answer, and come with it.
 */
export async function nativeAnswer(result: JsonResult | RawStream, provider: string): Promise<NativeAnswer> {
  if (result.kind === 'json') return { kind: 'native-json', result };
  const chunks = result.body[Symbol.asyncIterator]();
  const first = await readFirstEvent(chunks, provider);
  if (first === undefined) throw streamCut(provider, 'its first chunk');
  if (isErrorEvent(first.event)) {
    await chunks.return?.();
    throw streamError(first.event.data, provider);
  }
  return { kind: 'native-stream', chunks, first: { value: first.bytes, done: false } };
}

/**
 * Whether a stream's event is an error: named `error` (the Responses API, Anthropic), or whose data
 * is an error object (`{"error":…}`, as legacy completions and chat streams send one; `"type":"error"`).
 */
function isErrorEvent(event: SseEvent): boolean {
  if (event.event === 'error') return true;
  const data = event.data;
  if (!data.includes('"error"')) return false;
  try {
    const parsed = JSON.parse(data) as { error?: unknown; type?: unknown } | null;
    return parsed !== null && typeof parsed === 'object' && ((parsed.error !== undefined && parsed.error !== null) || parsed.type === 'error');
  } catch {
    return false;
  }
}
