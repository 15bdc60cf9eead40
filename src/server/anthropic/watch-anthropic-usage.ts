import { convertAnthropicUsage } from '../../providers/anthropic/convert-anthropic-usage.js';
import type { AnthropicUsage } from '../../spec/anthropic-messages.js';
import type { Usage } from '../../spec/openai-chat.js';
import { SseParser } from '../../sse/sse-parser.js';

/**
 * Reads the token counts out of an Anthropic stream that is relayed byte for byte, for metering,
 * and notices an `error` event (so the request is not counted as a success).
 * Only `message_start` and `message_delta` events are parsed (the others are skipped by their
 * event name); counts are cumulative, so a later value replaces an earlier one.
 * @see https://docs.anthropic.com/en/docs/build-with-claude/streaming#event-types
 */
export class AnthropicUsageWatcher {
  private readonly parser = new SseParser();
  private readonly counts: AnthropicUsage = {};
  /** Set when the upstream ended the stream with an `error` event (relayed to the client as it is). */
  failed = false;
  /** Set by `message_stop`: a stream that ends without it was cut. */
  complete = false;

  push(chunk: Buffer): void {
    for (const event of this.parser.push(chunk)) {
      if (event.event === 'error') this.failed = true;
      if (event.event === 'message_stop') this.complete = true;
      if (event.event !== 'message_start' && event.event !== 'message_delta') continue;
      let usage: unknown;
      try {
        const parsed = JSON.parse(event.data) as { message?: { usage?: unknown }; usage?: unknown };
        usage = event.event === 'message_start' ? parsed.message?.usage : parsed.usage;
      } catch {
        continue; // relayed as it is; the client sees what the upstream sent
      }
      if (usage === null || typeof usage !== 'object') continue;
      for (const [field, value] of Object.entries(usage)) if (typeof value === 'number') this.counts[field] = value;
    }
  }

  /** The counts seen so far, in OpenAI's shape; undefined before `message_start`. */
  get usage(): Usage | undefined {
    return convertAnthropicUsage(this.counts);
  }
}
