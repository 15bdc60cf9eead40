import type { Usage } from '../spec/openai-chat.js';
import { readUsage } from '../spec/read-usage.js';
import { SseParser } from '../sse/sse-parser.js';
import { DeliveredText } from './delivered-text.js';

const usagePattern = /"usage"\s*:\s*\{/;

/**
 * Reads a legacy completions stream that is relayed byte for byte, for metering: the usage an
 * upstream sends in a chunk (with `stream_options.include_usage`), and meanwhile the text its
 * choices delivered, so that a stream without usage (the client did not ask for it, or the stream
 * was cut) is billed for what it delivered rather than for its prompt alone.
 * @see https://platform.openai.com/docs/api-reference/completions/object
 */
export class CompletionsStreamWatcher {
  private readonly parser = new SseParser();
  readonly delivered = new DeliveredText();
  usage: Usage | undefined;

  push(chunk: Buffer): void {
    for (const event of this.parser.push(chunk)) {
      if (event.data === '[DONE]') continue;
      let parsed: { choices?: unknown; usage?: unknown };
      try {
        parsed = JSON.parse(event.data) as typeof parsed;
      } catch {
        continue; // relayed as it is; the client sees what the upstream sent
      }
      if (parsed === null || typeof parsed !== 'object') continue;
      if (Array.isArray(parsed.choices)) {
        for (const choice of parsed.choices as Array<{ text?: unknown } | null>) {
          if (typeof choice?.text === 'string' && choice.text !== '') this.delivered.addText(choice.text);
        }
      }
      if (usagePattern.test(event.data)) this.usage = readUsage(parsed.usage) ?? this.usage;
    }
  }
}
