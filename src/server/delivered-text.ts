import { SseParser } from '../sse/sse-parser.js';

/** Chunk JSON texts: a chunk's JSON as it is, relayed SSE event text split into its events' data. */
function* chunkTexts(parts: readonly string[]): Generator<string> {
  const parser = new SseParser();
  for (const part of parts) {
    if (part.startsWith('{')) yield part;
    else for (const event of parser.push(Buffer.from(part, 'utf8'))) yield event.data;
  }
}

/**
 * The text a client received from relayed chat chunks: content, refusals and tool-call arguments.
 * Used only to count a stream whose usage never arrived (cut short), so that it is billed for what
 * was delivered.
 */
export function deliveredText(parts: readonly string[]): string {
  let text = '';
  for (const part of chunkTexts(parts)) {
    try {
      const chunk = JSON.parse(part) as { choices?: Array<{ delta?: { content?: unknown; refusal?: unknown; tool_calls?: Array<{ function?: { name?: unknown; arguments?: unknown } }> } }> };
      for (const choice of chunk.choices ?? []) {
        const delta = choice.delta;
        if (typeof delta?.content === 'string') text += delta.content;
        if (typeof delta?.refusal === 'string') text += delta.refusal;
        for (const call of delta?.tool_calls ?? []) {
          if (typeof call.function?.name === 'string') text += call.function.name;
          if (typeof call.function?.arguments === 'string') text += call.function.arguments;
        }
      }
    } catch {
      // A chunk that is not JSON carried no countable text.
    }
  }
  return text;
}
