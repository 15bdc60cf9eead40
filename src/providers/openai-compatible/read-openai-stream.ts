import { readUsage } from '../../spec/read-usage.js';
import { UpstreamError } from '../../spec/relay-error.js';
import { SseParser } from '../../sse/sse-parser.js';
import type { StreamPart } from '../provider.js';
import type { StreamReader } from '../post-upstream.js';
import { streamCut } from '../upstream-failure.js';

const usagePattern = /"usage"\s*:\s*\{/;
const finishPattern = /"finish_reason"\s*:\s*"/;

/**
 * Turns the SSE body of an OpenAI-compatible chat stream into stream parts, event by event. Chunks
 * pass through as the exact JSON text the upstream sent; only a chunk that carries usage (or an
 * error) is parsed. `[DONE]` ends the stream (what follows it is not read); one that ends without
 * `[DONE]` and without a finish reason was cut, and fails as such.
 * @see https://platform.openai.com/docs/api-reference/chat-streaming
 */
export class OpenAIEventReader implements StreamReader {
  private readonly parser: SseParser;

  constructor(
    private readonly provider: string,
    /** Whether the stream already ended properly (a reader taking over another's stream). */
    private finished = false,
  ) {
    this.parser = new SseParser(provider);
  }

  /** True at `[DONE]`, the stream's end: the events after it are not read. */
  push(chunk: Buffer, emit: (part: StreamPart) => void): boolean {
    for (const event of this.parser.push(chunk)) {
      const data = event.data;
      if (data === '[DONE]') {
        this.finished = true;
        return true;
      }
      if (data.startsWith('{"error"') || (event.event === 'error' && data.includes('"error"'))) {
        throw streamError(data, this.provider);
      }
      if (!this.finished && finishPattern.test(data)) this.finished = true;
      if (usagePattern.test(data)) {
        const { usage, usageOnly } = readUsageChunk(data);
        emit({ data, usage, usageOnly });
      } else {
        emit({ data });
      }
    }
    return false;
  }

  end(): void {
    if (!this.finished) throw streamCut(this.provider, '[DONE]');
  }
}

/**
 * The usage a chunk carries, and whether it is the usage-only chunk (empty `choices`) that OpenAI
 * sends when `include_usage` is set. A chunk that is not JSON is relayed as it is, and the request
 * is then counted with the tokenizer.
 */
export function readUsageChunk(data: string): { usage: StreamPart['usage']; usageOnly: boolean } {
  let parsed: { usage?: unknown; choices?: unknown[] } | undefined;
  try {
    parsed = JSON.parse(data) as { usage?: unknown; choices?: unknown[] };
  } catch {
    parsed = undefined;
  }
  return { usage: readUsage(parsed?.usage), usageOnly: Array.isArray(parsed?.choices) && parsed.choices.length === 0 };
}

export function streamError(data: string, provider: string): UpstreamError {
  let message: string | undefined;
  try {
    const parsed = JSON.parse(data) as { error?: { message?: unknown } };
    if (typeof parsed.error?.message === 'string') message = parsed.error.message;
  } catch {
    // keep the raw text in the log message only
  }
  return new UpstreamError(`${provider}: error event in stream: ${data.slice(0, 500)}`, {
    reason: 'provider_internal',
    provider,
    upstreamMessage: message,
  });
}
