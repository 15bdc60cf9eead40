import type { JsonResult, Provider, ProviderCall, StreamPart } from '../../providers/provider.js';
import type { AnthropicMessage, AnthropicRequest } from '../../spec/anthropic-messages.js';
import type { Usage } from '../../spec/openai-chat.js';
import { RelayError } from '../../spec/relay-error.js';
import { checkChatAnswer } from '../../providers/upstream-failure.js';
import { convertFromAnthropicRequest } from './convert-from-anthropic-request.js';
import { convertToAnthropicMessage } from './convert-to-anthropic-message.js';

/** What one attempt at a `/v1/messages` request produced, ready for the client. */
export type MessagesAnswer =
  /** Anthropic JSON from an Anthropic upstream, to be sent byte for byte. */
  | { kind: 'native-json'; result: JsonResult }
  /** An Anthropic SSE body, its first chunk already read (so a failure before it could be retried). */
  | { kind: 'native-stream'; chunks: AsyncIterator<Buffer>; first: IteratorResult<Buffer> }
  /** An OpenAI answer translated to an Anthropic message. */
  | { kind: 'translated-json'; message: AnthropicMessage; usage: Usage | undefined }
  /** OpenAI stream parts, to be re-encoded as Anthropic events; the first part already read. */
  | { kind: 'translated-stream'; parts: AsyncIterator<StreamPart>; first: IteratorResult<StreamPart> };

/** Where one attempt goes: routing's deployment (or target), of which only these two fields are read. */
export interface MessagesTarget {
  provider: Provider;
  /** The model name sent upstream. */
  model: string;
}

/**
 * One attempt at a `/v1/messages` request on one target. A provider that speaks the Messages API
 * gets the request as it came (only the model name replaced); any other gets it translated to an
 * OpenAI chat request, with what cannot be translated reported in `x-relay-dropped-params` or, in
 * strict mode, refused with a 400. A stream is only returned once its first part arrived.
 */
export async function callMessagesTarget(target: MessagesTarget, body: AnthropicRequest, call: ProviderCall): Promise<MessagesAnswer> {
  const provider = target.provider;
  const stream = body.stream === true;
  if (provider.messages !== undefined) {
    const result = await provider.messages(body, target.model, call);
    if (result.kind === 'json') return { kind: 'native-json', result };
    const chunks = result.body[Symbol.asyncIterator]();
    return { kind: 'native-stream', chunks, first: await chunks.next() };
  }
  const { chatRequest, unsupported } = convertFromAnthropicRequest(body, target.model);
  for (const parameter of unsupported) {
    if (call.strict) {
      throw new RelayError(
        `The parameter '${parameter.name}' cannot be honoured by the upstream serving "${body.model}": ${parameter.why}. Remove it, or send the request without strict mode to have it dropped.`,
        { status: 400, type: 'invalid_request_error', code: 'unsupported_parameter', param: parameter.name },
      );
    }
    call.dropped.push(parameter.name);
  }
  if (!stream) {
    const result = checkChatAnswer(await provider.chat(chatRequest, target.model, call), provider.name);
    return { kind: 'translated-json', message: convertToAnthropicMessage(result.completion(), body.model, result.usage), usage: result.usage };
  }
  const parts = await provider.chatStream(chatRequest, target.model, call);
  return { kind: 'translated-stream', parts, first: await parts.next() };
}
