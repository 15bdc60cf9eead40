const contentFilterReasons = new Set(['SAFETY', 'RECITATION', 'BLOCKLIST', 'PROHIBITED_CONTENT', 'SPII', 'IMAGE_SAFETY']);

/**
 * Maps a Gemini candidate's `finishReason` to OpenAI's `finish_reason`. Gemini says STOP after a
 * function call too, so whether the candidate called tools decides between `stop` and `tool_calls`.
 * Reasons OpenAI has no word for (OTHER, LANGUAGE, MALFORMED_FUNCTION_CALL, …) become `stop`: the
 * answer ended, and clients only branch on the values they know.
 * @see https://ai.google.dev/api/generate-content#FinishReason
 * @see https://platform.openai.com/docs/api-reference/chat/object#chat/object-choices
 */
export function mapGeminiFinishReason(finishReason: string | undefined, calledTools: boolean): string {
  if (finishReason === 'MAX_TOKENS') return 'length';
  if (finishReason !== undefined && contentFilterReasons.has(finishReason)) return 'content_filter';
  return calledTools ? 'tool_calls' : 'stop';
}
