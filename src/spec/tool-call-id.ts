import { randomBytes } from 'node:crypto';

/**
 * The id of a tool call as the relay answers it: the upstream's, or a new one (`prefix` and 24 random
 * hex digits) when the upstream gave none or an empty one — Gemini's OpenAI-compatible endpoint and
 * LM Studio send `""`, StepFun streams its calls without any. Clients pair each tool result with its
 * call by this id, and Anthropic requires a conversation's `tool_use` ids to be unique across its
 * turns, so a made-up id is drawn at random, never counted within one answer (`toolu_0` on every
 * turn). Anything but a string (`null`, a number) names no call either.
 * @see https://docs.anthropic.com/en/api/messages#body-messages-content-tool-use-id
 * @see https://platform.openai.com/docs/api-reference/responses/object#responses/object-output-function_tool_call-call_id
 */
export function toolCallId(id: unknown, prefix: string): string {
  return typeof id === 'string' && id !== '' ? id : `${prefix}${randomBytes(12).toString('hex')}`;
}
