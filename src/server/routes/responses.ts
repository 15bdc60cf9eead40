import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { StreamPart } from '../../providers/provider.js';
import { maxTokensField, type ChatCompletionChunk, type ChatRequest } from '../../spec/openai-chat.js';
import type { ResponsesRequest } from '../../spec/openai-responses.js';
import { RelayError } from '../../spec/relay-error.js';
import { admitRequest, messagesText } from '../admit-request.js';
import { DeliveredText } from '../delivered-text.js';
import { ResponsesBody } from '../request-schemas.js';
import type { RelayServices } from '../relay-services.js';
import { AnsweredItems } from '../responses/answered-items.js';
import { convertFromResponsesRequest } from '../responses/convert-from-responses-request.js';
import { ResponseEventEncoder } from '../responses/response-event-encoder.js';
import { convertToResponse, itemId, responseShell } from '../responses/response-object.js';
import { commitStream, streamFailure } from '../stream-lifecycle.js';
import { prepareUpstreamCall } from '../upstream-call.js';

/** The chat request for one upstream model: its name, and the token limit in the field that model takes. */
function forModel(chatRequest: ChatRequest, model: string): ChatRequest {
  const request: ChatRequest = { ...chatRequest, model };
  const limit = chatRequest.max_tokens ?? chatRequest.max_completion_tokens;
  if (limit !== undefined && limit !== null) {
    delete request.max_tokens;
    delete request.max_completion_tokens;
    request[maxTokensField(model)] = limit;
  }
  return request;
}

function parseChunk(part: StreamPart): ChatCompletionChunk | undefined {
  try {
    const parsed = JSON.parse(part.data) as ChatCompletionChunk;
    return parsed !== null && typeof parsed === 'object' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/**
 * `POST /v1/responses`, OpenAI's Responses API, served by translation: the request becomes a chat
 * request (every upstream speaks chat or is translated from it), and the chat answer becomes a
 * `response` object or its stream of events. Stateless: a conversation is sent whole, and
 * `previous_response_id` is refused; the items of recent answers are kept an hour so that
 * `item_reference`s to them resolve. Errors are OpenAI-shaped, as on the other OpenAI routes.
 * @see https://platform.openai.com/docs/api-reference/responses/create
 */
export function registerResponses(app: FastifyInstance, services: RelayServices): void {
  const answered = new AnsweredItems();

  app.post('/v1/responses', { schema: { body: ResponsesBody } }, async (request, reply) => {
    // `fallbacks` is the relay's own field, as on /v1/chat/completions: it never goes upstream.
    const { fallbacks, ...body } = request.body as ResponsesRequest & { fallbacks?: string[] };
    const principal = request.relay.principal!;
    const resolved = services.router.resolve(body.model, principal);
    // Translated before anything is reserved: a request that cannot be served is refused at once.
    const { chatRequest, unsupported } = convertFromResponsesRequest(body, resolved.model, (id) => answered.find(principal.id, id));
    await admitRequest(request, reply, services, resolved.model, {
      promptText: () => messagesText(chatRequest.messages),
      maxOutputTokens: typeof body.max_output_tokens === 'number' ? body.max_output_tokens : undefined,
    });
    const upstream = prepareUpstreamCall(request, reply, services, resolved, { fallbacks, user: body.user });
    const first = unsupported[0];
    if (first !== undefined && upstream.call.strict) {
      throw new RelayError(`The parameter '${first.name}' cannot be honoured by the relay's Responses API: ${first.why}. Remove it, or send the request without strict mode to have it dropped.`, {
        status: 400,
        type: 'invalid_request_error',
        code: 'unsupported_parameter',
        param: first.name,
      });
    }
    const dropped = unsupported.map((parameter) => parameter.name.replace(/\[\d+\]/g, '[]'));
    request.relay.stream = body.stream === true;
    if (body.stream !== true) {
      const outcome = await upstream.run((deployment) => {
        upstream.call.dropped.push(...dropped);
        return deployment.provider.chat(forModel(chatRequest, deployment.model), deployment.model, upstream.call);
      });
      request.relay.usage = outcome.value.usage;
      const response = convertToResponse(outcome.value.completion(), body, outcome.value.usage);
      answered.keep(principal.id, response.output);
      return reply.type('application/json').send(response);
    }
    const outcome = await upstream.run(async (deployment) => {
      upstream.call.dropped.push(...dropped);
      const parts = await deployment.provider.chatStream(forModel(chatRequest, deployment.model), deployment.model, upstream.call);
      return { parts, first: await parts.next() };
    });
    const encoder = new ResponseEventEncoder(responseShell(body, itemId('resp'), Math.floor(Date.now() / 1000)));
    if (await writeResponseStream(request, reply, outcome.value.parts, outcome.value.first, encoder)) answered.keep(principal.id, encoder.items());
    return reply;
  });

  // The Responses API's stored-response routes: the relay stores no response, and says so.
  const notStored = async (): Promise<never> => {
    throw new RelayError('The relay does not store responses: read a response from the answer to its request (or its stream), and send conversations whole in `input`.', {
      status: 404,
      type: 'not_found_error',
      code: 'response_not_stored',
    });
  };
  app.get('/v1/responses/:id', notStored);
  app.delete('/v1/responses/:id', notStored);
  app.get('/v1/responses/:id/input_items', notStored);
  app.post('/v1/responses/:id/cancel', notStored);
}

/** Writes the chat stream as Responses events; true when it went to the end. */
async function writeResponseStream(
  request: FastifyRequest,
  reply: FastifyReply,
  parts: AsyncIterator<StreamPart>,
  first: IteratorResult<StreamPart>,
  encoder: ResponseEventEncoder,
): Promise<boolean> {
  const writer = commitStream(request, reply);
  try {
    writer.raw(Buffer.from(encoder.start()));
    for (let current = first; current.done !== true; current = await parts.next()) {
      const part = current.value;
      if (part.usage !== undefined) request.relay.usage = part.usage;
      // Kept only while no usage has come, to bill a stream that is cut for what it delivered.
      else if (request.relay.usage === undefined) (request.relay.delivered ??= new DeliveredText()).add(part.data);
      const chunk = parseChunk(part);
      const events = chunk === undefined ? '' : encoder.push(chunk, part.usage);
      if (events !== '') {
        const pending = writer.raw(Buffer.from(events));
        if (pending !== undefined) await pending;
      }
      if (writer.closed) {
        await parts.return?.();
        return false;
      }
    }
    // Responses streams end with their last event: no `[DONE]` as chat streams have.
    if (!writer.closed) reply.raw.end(encoder.finish());
    return true;
  } catch (error) {
    const clientError = streamFailure(error, request);
    if (clientError !== undefined && !writer.closed) reply.raw.end(encoder.fail(clientError.toJSON()));
    return false;
  }
}
