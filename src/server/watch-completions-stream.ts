import type { Usage } from '../spec/openai-chat.js';
import { readUsage } from '../spec/read-usage.js';
import { SseParser } from '../sse/sse-parser.js';
import { DeliveredText } from './delivered-text.js';

const usagePattern = /"usage"\s*:\s*\{/;

/**
 * Reads a legacy completions stream that is relayed byte for byte, for metering: the usage an
 * upstream sends in a chunk (with `stream_options.include_usage`), and meanwhile the text its
 * choices delivered, so that a stream without usage (the client did not ask for it, or the stream
 * was cut) is billed for what it delivered rather than for its prompt alone. Notices its end
 * (`[DONE]` or a finish reason, as for a chat stream: one that ends without either was cut) and an
 * error event, so that neither is counted as a success.
 * @see https://platform.openai.com/docs/api-reference/completions/object
 */
export class CompletionsStreamWatcher {
  private readonly parser = new SseParser();
  readonly delivered = new DeliveredText();
  usage: Usage | undefined;
  /** Set by `[DONE]` or a finish reason: a stream that ends without either was cut. */
  complete = false;
  /** Set by `[DONE]`, the stream's end: nothing after it is read. */
  ended = false;
  /** Set by an error event (`{"error": …}`, or an event named `error`), relayed to the client as it came. */
  failed = false;

  push(chunk: Buffer): void {
    for (const event of this.parser.push(chunk)) {
      if (event.event === 'error') this.failed = true;
      if (event.data === '[DONE]') {
        this.complete = true;
        this.ended = true;
        return;
      }
      let parsed: { choices?: unknown; usage?: unknown; error?: unknown };
      try {
        parsed = JSON.parse(event.data) as typeof parsed;
      } catch {
        continue; // relayed as it is; the client sees what the upstream sent
      }
      if (parsed === null || typeof parsed !== 'object') continue;
      if (parsed.error !== undefined && parsed.error !== null) this.failed = true;
      if (Array.isArray(parsed.choices)) {
        for (const choice of parsed.choices as Array<{ text?: unknown; finish_reason?: unknown } | null>) {
          if (typeof choice?.text === 'string' && choice.text !== '') this.delivered.addText(choice.text);
          if (typeof choice?.finish_reason === 'string') this.complete = true;
        }
      }
      if (usagePattern.test(event.data)) this.usage = readUsage(parsed.usage) ?? this.usage;
    }
  }
}
