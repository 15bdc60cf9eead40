import { messageText, type Usage } from '../spec/openai-chat.js';
import { DeliveredText } from './delivered-text.js';
import type { RequestState } from './request-state.js';

/**
 * Puts a JSON answer's usage on its request; when the upstream gave none, the answer's text is
 * what the request delivered (`RequestState.delivered`), and metering counts it with the prompt as
 * it counts a stream's: without it, the answer was billed for its prompt alone. `answer` gives the
 * upstream's answer (a chat completion or a legacy completion), asked for only then; one it cannot
 * give (bytes that are not JSON) delivered nothing to count.
 */
export function recordAnswerUsage(state: RequestState, usage: Usage | undefined, answer: () => unknown): void {
  state.usage = usage;
  if (usage !== undefined) return;
  let text = '';
  try {
    text = answerText(answer());
  } catch {
    // the answer as it is went to the client; there is no text to read from it
  }
  const delivered = new DeliveredText();
  delivered.addText(text);
  state.delivered = delivered;
}

type AnswerChoice = {
  text?: unknown;
  message?: Parameters<typeof messageText>[0];
} | null;

/**
 * The text of an answer's choices, as the tokenizer counts a stream's completion (`chunkText`): a
 * chat message's text (`messageText`), with the text of its parts when its content is a list of
 * parts; a legacy completion's `text`. `''` for an
 * answer of another shape.
 */
function answerText(answer: unknown): string {
  const choices = (answer as { choices?: unknown } | null)?.choices;
  if (!Array.isArray(choices)) return '';
  let text = '';
  const add = (value: unknown): void => {
    if (typeof value === 'string') text += value;
  };
  for (const choice of choices as AnswerChoice[]) {
    add(choice?.text);
    const message = choice?.message;
    if (Array.isArray(message?.content)) for (const part of message.content as Array<{ text?: unknown } | null>) add(part?.text);
    text += messageText(message);
  }
  return text;
}
