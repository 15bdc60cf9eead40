import { messageText } from '../../spec/openai-chat.js';

/**
 * The text an OpenAI chat chunk carried, as the tokenizer counts a stream's completion: each
 * choice's delta's text (`messageText`). `''` for a chunk that is not JSON.
 */
export function chunkText(json: string): string {
  let chunk: { choices?: Array<{ delta?: Parameters<typeof messageText>[0] } | null> };
  try {
    chunk = JSON.parse(json) as typeof chunk;
  } catch {
    return '';
  }
  let text = '';
  for (const choice of Array.isArray(chunk?.choices) ? chunk.choices : []) text += messageText(choice?.delta);
  return text;
}
