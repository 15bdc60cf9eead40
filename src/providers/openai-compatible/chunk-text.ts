import { reasoningOf } from '../../spec/openai-chat.js';

/**
 * The text an OpenAI chat chunk carried, as the tokenizer counts a stream's completion: content,
 * refusals, reasoning (`reasoning_content`, else `reasoning`, billed as output as the rest) and
 * tool-call names and arguments. `''` for a chunk that is not JSON.
 */
export function chunkText(json: string): string {
  let chunk: { choices?: Array<{ delta?: { content?: unknown; refusal?: unknown; reasoning_content?: unknown; reasoning?: unknown; tool_calls?: Array<{ function?: { name?: unknown; arguments?: unknown } }> } }> };
  try {
    chunk = JSON.parse(json) as typeof chunk;
  } catch {
    return '';
  }
  let text = '';
  for (const choice of Array.isArray(chunk?.choices) ? chunk.choices : []) {
    const delta = choice?.delta;
    if (typeof delta?.content === 'string') text += delta.content;
    if (typeof delta?.refusal === 'string') text += delta.refusal;
    text += reasoningOf(delta) ?? '';
    for (const call of Array.isArray(delta?.tool_calls) ? delta.tool_calls : []) {
      if (typeof call?.function?.name === 'string') text += call.function.name;
      if (typeof call?.function?.arguments === 'string') text += call.function.arguments;
    }
  }
  return text;
}
