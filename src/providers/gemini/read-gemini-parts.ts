import type { GeminiPart } from './gemini-wire.js';

export interface GeminiFunctionCall {
  name: string;
  args: Record<string, unknown>;
  thoughtSignature: string | undefined;
}

export interface GeminiPartsReading {
  /** The answer's text: every text part that is not a thought, joined. */
  text: string;
  calls: GeminiFunctionCall[];
}

/**
 * Reads the parts of one candidate (or of one stream event's candidate). Thought parts are the
 * model's thinking, not its answer, and are left out, as OpenAI leaves reasoning out of `content`.
 * Parts the relay does not translate (executable code, inline data answers) are ignored.
 * @see https://ai.google.dev/api/caching#Part
 */
export function readGeminiParts(parts: readonly GeminiPart[] | undefined): GeminiPartsReading {
  let text = '';
  const calls: GeminiFunctionCall[] = [];
  for (const part of Array.isArray(parts) ? parts : []) {
    if (part === null || typeof part !== 'object') continue;
    if (typeof part.text === 'string' && part.thought !== true) text += part.text;
    const call = part.functionCall;
    if (call !== null && typeof call === 'object' && typeof call.name === 'string') {
      const args = call.args !== null && typeof call.args === 'object' && !Array.isArray(call.args) ? call.args : {};
      calls.push({ name: call.name, args, thoughtSignature: typeof part.thoughtSignature === 'string' ? part.thoughtSignature : undefined });
    }
  }
  return { text, calls };
}
