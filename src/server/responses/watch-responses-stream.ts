import type { Usage } from '../../spec/openai-chat.js';
import { outputItemIds } from '../../spec/openai-responses.js';
import { readUsage } from '../../spec/read-usage.js';
import { SseParser } from '../../sse/sse-parser.js';
import { DeliveredText } from '../delivered-text.js';

const sequencePattern = /"sequence_number":\s*(\d+)/;
/** The events that end a Responses stream, each with the whole response (and its usage). */
const endEvents = new Set(['response.completed', 'response.incomplete', 'response.failed']);
/** The events whose `delta` is text the model delivered. */
const deltaEvents = new Set(['response.output_text.delta', 'response.refusal.delta', 'response.function_call_arguments.delta', 'response.custom_tool_call_input.delta']);

/**
 * Reads a Responses API stream that is relayed byte for byte, for metering: the usage of the
 * event that ends it, and meanwhile the text its deltas delivered (to bill a stream cut before its
 * end for what it delivered). Notices a failure (`error`, `response.failed`), so the request is not
 * counted as a success. Only the events named above are parsed.
 * @see https://platform.openai.com/docs/api-reference/responses-streaming
 */
export class ResponsesStreamWatcher {
  private readonly parser = new SseParser();
  readonly delivered = new DeliveredText();
  usage: Usage | undefined;
  /** The last event's `sequence_number`, so that an error event the relay adds follows it. */
  lastSequence = -1;
  /** Set by an event that ends the stream: one that ends without it was cut. */
  complete = false;
  failed = false;
  /** The response's id, from its first event (`response.created`). */
  responseId: string | undefined;
  /** The ids `onIds` was told of. */
  private readonly told = new Set<string>();

  /** `onIds` hears, once each, of the ids the stream names: the response's, and its output items' (as they are added, and in the final response). */
  constructor(private readonly onIds?: (ids: string[]) => void) {}

  push(chunk: Buffer): void {
    for (const event of this.parser.push(chunk)) {
      const name = event.event;
      const sequence = sequencePattern.exec(event.data);
      if (sequence !== null) this.lastSequence = Number(sequence[1]);
      if (name === 'error') this.failed = true;
      const created = name === 'response.created' && this.responseId === undefined;
      const itemAdded = name === 'response.output_item.added' && this.onIds !== undefined;
      if (name === undefined || (!created && !itemAdded && !endEvents.has(name) && !deltaEvents.has(name))) continue;
      let parsed: { delta?: unknown; item?: { id?: unknown }; response?: { id?: unknown; usage?: unknown; output?: unknown } };
      try {
        parsed = JSON.parse(event.data) as typeof parsed;
      } catch {
        continue; // relayed as it is; the client sees what the upstream sent
      }
      if (this.responseId === undefined && typeof parsed.response?.id === 'string') this.responseId = parsed.response.id;
      if (this.onIds !== undefined && !deltaEvents.has(name)) this.tell([parsed.response?.id, parsed.item?.id, ...outputItemIds(parsed.response?.output)]);
      if (created || itemAdded) continue;
      if (deltaEvents.has(name)) {
        if (typeof parsed.delta === 'string') this.delivered.addText(parsed.delta);
        continue;
      }
      this.complete = true;
      if (name === 'response.failed') this.failed = true;
      this.usage = readUsage(parsed.response?.usage);
    }
  }

  private tell(candidates: unknown[]): void {
    const fresh: string[] = [];
    for (const id of candidates) {
      if (typeof id !== 'string' || this.told.has(id)) continue;
      this.told.add(id);
      fresh.push(id);
    }
    if (fresh.length > 0) this.onIds!(fresh);
  }
}
