import { createHash } from 'node:crypto';

/**
 * Gemini gives function calls no ids, but OpenAI clients pair each tool result with its call by id.
 * The relay names the calls of one answer `call_<tag>_<n>` (n counts the answer's calls from 0): the
 * tag comes from the relay's request id, so ids are the same in JSON and streamed answers of one
 * request, and never repeat across the turns of a conversation (UIs key tool invocations by id).
 * @see https://ai.google.dev/gemini-api/docs/function-calling
 * @see https://platform.openai.com/docs/api-reference/chat/object#chat/object-tool_calls
 */
export function toolCallIdPrefix(requestId: string): string {
  return `call_${createHash('sha256').update(requestId).digest('hex').slice(0, 12)}_`;
}
