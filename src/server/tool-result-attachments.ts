import type { ChatContentPart } from '../spec/openai-chat.js';

/**
 * Images and files a tool returned, for a chat request: a chat `tool` message carries only text, so
 * they go in the user message that follows the tool messages, after a line naming the call, and the
 * tool message's text says that they follow. Used where `/v1/messages` (`tool_result` blocks) and
 * `/v1/responses` (`function_call_output` items) are translated to chat.
 */
export function toolResultAttachments(callId: string, text: string, parts: ChatContentPart[]): { text: string; parts: ChatContentPart[] } {
  if (parts.length === 0) return { text, parts };
  const note = `(${parts.length === 1 ? 'an attachment follows' : `${parts.length} attachments follow`} in the next user message)`;
  return { text: text === '' ? note : `${text}\n${note}`, parts: [{ type: 'text', text: `Attachments of the result of tool call ${callId}:` }, ...parts] };
}
