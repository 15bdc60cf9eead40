import { convertAnthropicUsage, mergeAnthropicUsage } from '../../providers/anthropic/convert-anthropic-usage.js';
import type { AnthropicUsage } from '../../spec/anthropic-messages.js';
import type { Usage } from '../../spec/openai-chat.js';
import { SseParser } from '../../sse/sse-parser.js';
import { DeliveredText } from '../delivered-text.js';

/**
 * Reads the token counts out of an Anthropic stream that is relayed byte for byte, for metering,
 * and notices an `error` event (so the request is not counted as a success).
 * Only `message_start`, `content_block_delta` and `message_delta` events are parsed (the others are
 * skipped by their event name); counts are cumulative, so a later value replaces an earlier one.
 *
 * `message_start` counts the prompt exactly but the output only as it stood then (a token or so):
 * the answer's counts are final with `message_delta`. Until then the text the deltas delivered is
 * kept, so that a stream cut before its end is billed for what it delivered.
 * @see https://docs.anthropic.com/en/docs/build-with-claude/streaming#event-types
 */
export class AnthropicUsageWatcher {
  private readonly parser = new SseParser();
  private readonly counts: AnthropicUsage = {};
  private final = false;
  /** The text, thinking and tool input the content deltas carried. */
  readonly delivered = new DeliveredText();
  /** Set when the upstream ended the stream with an `error` event (relayed to the client as it is). */
  failed = false;
  /** Set by `message_stop`: a stream that ends without it was cut. */
  complete = false;

  /** Reads one piece of the stream; true when it changed the counts (`usage`, `startUsage`). */
  push(chunk: Buffer): boolean {
    let changed = false;
    for (const event of this.parser.push(chunk)) {
      const name = event.event;
      if (name === 'error') this.failed = true;
      if (name === 'message_stop') this.complete = true;
      if (name !== 'message_start' && name !== 'message_delta' && name !== 'content_block_delta') continue;
      let parsed: { message?: { usage?: unknown }; usage?: unknown; delta?: Record<string, unknown> };
      try {
        parsed = JSON.parse(event.data) as typeof parsed;
      } catch {
        continue; // relayed as it is; the client sees what the upstream sent
      }
      if (parsed === null || typeof parsed !== 'object') continue;
      if (name === 'content_block_delta') {
        const delta = parsed.delta;
        const text = delta?.text ?? delta?.partial_json ?? delta?.thinking;
        if (typeof text === 'string' && text !== '') this.delivered.addText(text);
        continue;
      }
      const usage = name === 'message_start' ? parsed.message?.usage : parsed.usage;
      if (!mergeAnthropicUsage(this.counts, usage)) continue;
      if (name === 'message_delta') this.final = true;
      changed = true;
    }
    return changed;
  }

  /** The answer's counts in OpenAI's shape, once `message_delta` gave them; undefined before. */
  get usage(): Usage | undefined {
    return this.final ? convertAnthropicUsage(this.counts) : undefined;
  }

  /** The counts `message_start` gave (the prompt's, exact), while the answer's are not known yet. */
  get startUsage(): Usage | undefined {
    return this.final ? undefined : convertAnthropicUsage(this.counts);
  }
}
