import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CallSignal } from '../../providers/call-signal.js';
import type { ChatResult, ProviderCall, StreamPart } from '../../providers/provider.js';
import { CallAbortedError, checkChatAnswer, streamCut } from '../../providers/upstream-failure.js';
import type { Deployment } from '../../routing/deployment.js';
import type { ResponsesOutputItem, ResponsesRequest } from '../../spec/openai-responses.js';
import { RelayError, UpstreamError, toClientError } from '../../spec/relay-error.js';
import { admitFreeRequest, admitRequest, jsonBytes, marksCacheBreakpoint, messagesBytes, messagesTally } from '../admit-request.js';
import { fallbackModels, forDeployment, lowerToLimit, openEndedOutput, reservedOutputTokens, writesAtMost } from '../output-limit.js';
import { DeliveredText } from '../delivered-text.js';
import { recordAnswerUsage } from '../record-answer-usage.js';
import { ResponsesBody } from '../request-schemas.js';
import type { RelayServices } from '../relay-services.js';
import { AnsweredItems } from '../responses/answered-items.js';
import { convertFromResponsesRequest, type TranslatedResponsesRequest } from '../responses/convert-from-responses-request.js';
import { ResponseEventEncoder, responsesErrorEvent } from '../responses/response-event-encoder.js';
import { convertToResponse, itemId, responseShell } from '../responses/response-object.js';
import { StoredResponses } from '../responses/stored-responses.js';
import { ResponsesStreamWatcher } from '../responses/watch-responses-stream.js';
import { ErrorEventRedactor } from '../redact-error-events.js';
import type { SseWriter } from '../sse-writer.js';
import { headerText } from '../header-text.js';
import { commitStream, streamFailure } from '../stream-lifecycle.js';
import { nativeAnswer, parseChunk, writeStreamValues, type NativeAnswer } from '../write-stream-parts.js';
import { applyUnsupported, sendWithoutRefused } from '../translated-request.js';
import { prepareUpstreamCall } from '../upstream-call.js';

/** What one attempt at a `/v1/responses` request produced; a stream's first part is already read. */
type ResponsesAnswer =
  /** The upstream's own Responses API JSON or events, relayed as they came. */
  | NativeAnswer
  /** A chat answer, to be turned into a response object (`customTools`: the request's custom tools). */
  | { kind: 'translated-json'; result: ChatResult; customTools: ReadonlySet<string> }
  /** Chat stream parts, to be re-encoded as Responses events. */
  | { kind: 'translated-stream'; parts: AsyncIterator<StreamPart>; first: IteratorResult<StreamPart>; customTools: ReadonlySet<string> };

/**
 * The fields of a translated request that an upstream may refuse for some models (chat field → the
 * Responses API's name), sent again without them (`sendWithoutRefused`): sampling parameters
 * (OpenAI's reasoning models), `reasoning.effort` (models that do not reason, such as gpt-4o) and
 * `parallel_tool_calls` (some reasoning models). Never anything the answer's meaning depends on.
 */
const optionalFields: Readonly<Record<string, string>> = { temperature: 'temperature', top_p: 'top_p', reasoning_effort: 'reasoning.effort', parallel_tool_calls: 'parallel_tool_calls' };

/** Whether `/v1/responses` reaches a deployment by translation (its provider has no Responses API). */
const translatesResponses = (deployment: Deployment): boolean => deployment.provider.responses === undefined;

/**
 * One attempt on one deployment. An upstream that serves the Responses API (`responsesApi`) gets
 * the request as it came, only the model name replaced; any other gets the chat translation (and
 * a request the translation refused is refused here, with the translation's 400); a field of
 * `optionalFields` the upstream refuses for the model is left out and the request sent again.
 */
async function callDeployment(deployment: Deployment, body: Record<string, unknown>, translation: TranslatedResponsesRequest | RelayError, call: ProviderCall, outputCap: number | undefined): Promise<ResponsesAnswer> {
  const provider = deployment.provider;
  const stream = body.stream === true;
  if (provider.responses !== undefined) {
    const sent = outputCap === undefined ? body : { ...body, max_output_tokens: lowerToLimit(outputCap, writesAtMost(deployment)) };
    return nativeAnswer(await provider.responses(sent, deployment.model, call), provider.name);
  }
  if (translation instanceof RelayError) throw translation;
  // Item positions left out of the header (`input[]`, `tools[]`): it names what was dropped, not where.
  applyUnsupported(translation.unsupported, call, "the relay's translation of the Responses API to chat", (name) => name.replace(/\[\d+\]/g, '[]'));
  const chatRequest = forDeployment(translation.chatRequest, deployment, outputCap, true);
  const customTools = translation.customTools;
  const upstream = { provider, model: deployment.model };
  if (!stream) return { kind: 'translated-json', result: checkChatAnswer(await sendWithoutRefused(chatRequest, call, optionalFields, (request) => provider.chat(request, deployment.model, call), upstream), provider.name), customTools };
  // A refusal is an answer to the request, before any part of a stream.
  const parts = await sendWithoutRefused(chatRequest, call, optionalFields, (request) => provider.chatStream(request, deployment.model, call), upstream);
  return { kind: 'translated-stream', parts, first: await parts.next(), customTools };
}

/**
 * `POST /v1/responses`, OpenAI's Responses API. Upstreams that serve it (OpenAI's own, and any
 * OpenAI-compatible provider configured with `responsesApi`) get the request as it came and their
 * answer is relayed untouched; for every other upstream it is served by translation: the request
 * becomes a chat request, and the chat answer a `response` object or its stream of events. The
 * translation is stateless: `previous_response_id` and the like are refused, and the items of
 * recent translated answers are kept an hour so that `item_reference`s to them resolve. A response
 * an upstream stored is recorded with the key that got it and the provider that holds it: only that
 * key may continue it, and its next turn goes to that provider (`StoredResponses`).
 * @see https://platform.openai.com/docs/api-reference/responses/create
 */
export function registerResponses(app: FastifyInstance, services: RelayServices): void {
  const answered = new AnsweredItems(services.store.responseItems, (action, error) =>
    services.logger.warn({ detail: error instanceof Error ? error.message : String(error) }, action === 'keep' ? 'the store did not keep the items of a /v1/responses answer: other replicas cannot resolve references to them' : 'the store could not be asked for referenced /v1/responses items'),
  );
  // With `server.keepResponseItems: false` (read per answer: a reload applies at once) no model output outlives its answer.
  const keep = (principalId: string, output: readonly ResponsesOutputItem[]): Promise<void> => (services.config.keepResponseItems ? answered.keep(principalId, output) : Promise.resolve());
  const stored = new StoredResponses(services.store.storedResponses, (action, error) => {
    const detail = error instanceof Error ? error.message : String(error);
    if (action === 'record') services.logger.error({ detail }, 'the store did not record which key got a stored /v1/responses answer: any key may name it by previous_response_id or item_reference');
    else services.logger.warn({ detail }, 'the store could not be asked which key got the stored responses a request names: the request is refused with 503');
  });

  app.post('/v1/responses', { schema: { body: ResponsesBody } }, async (request, reply) => {
    // `fallbacks` is the relay's own field, as on /v1/chat/completions: it never goes upstream.
    const { fallbacks, ...body } = request.body as ResponsesRequest & { fallbacks?: string[] };
    const principal = request.relay.principal!;
    const resolved = services.router.resolve(body.model, principal);
    // A background response is answered before it is generated: its usage would never reach the ledger.
    if (body.background === true) {
      throw new RelayError("The parameter 'background' cannot be honoured: the relay meters every response as it answers it, and a background response is answered before its tokens are known. Send the request without `background` (stream it to keep a long request alive).", {
        status: 400,
        type: 'invalid_request_error',
        code: 'unsupported_parameter',
        param: 'background',
      });
    }
    // Items of the relay's own translated answers that this key got, by reference.
    const items = referencedItems(body);
    const referenced = await answered.find(principal.id, items.map((item) => item.id));
    // A stored response (or item) another key got is refused before anything is reserved; one this
    // key got is continued at the provider that holds it. Only where some upstream keeps responses
    // (no record can exist otherwise), and not for items the relay made itself.
    const pinnedProvider = servesResponsesApi(services)
      ? await stored.providerFor(
          { previousResponseId: typeof body.previous_response_id === 'string' ? body.previous_response_id : undefined, items: items.filter((item) => !referenced.has(item.id)) },
          principal.id,
        )
      : undefined;
    // Translated before anything is reserved, so that a request no upstream can serve is refused
    // at once; kept for the attempts when some upstream might take it as it is.
    let translation: TranslatedResponsesRequest | RelayError;
    try {
      translation = convertFromResponsesRequest(body, resolved.model, (id) => referenced.get(id));
    } catch (error) {
      if (!(error instanceof RelayError) || !servesResponsesApi(services)) throw error;
      translation = error;
    }
    await admitRequest(request, reply, services, resolved.model, {
      promptTally: () => (translation instanceof RelayError ? { texts: [JSON.stringify([body.instructions ?? '', body.input])], tokens: 0 } : messagesTally(translation.chatRequest.messages)),
      // The tool definitions are input tokens too.
      promptBytes: () =>
        translation instanceof RelayError
          ? Buffer.byteLength(JSON.stringify([body.instructions ?? '', body.input])) + jsonBytes(body.tools)
          : messagesBytes(translation.chatRequest.messages) + jsonBytes(translation.chatRequest.tools),
      mayWriteCache: () => marksCacheBreakpoint(translation instanceof RelayError ? body : translation.chatRequest),
      maxOutputTokens: reservedOutputTokens(
        typeof body.max_output_tokens === 'number' ? body.max_output_tokens : undefined,
        resolved,
        () => fallbackModels(services.router, resolved.model, principal, fallbacks),
        translatesResponses,
      ),
      fallbacks,
      openEnded: () => openEndedOutput(resolved, () => fallbackModels(services.router, resolved.model, principal, fallbacks), services.billing.defaultMaxTokens),
    });
    const upstream = prepareUpstreamCall(request, reply, services, resolved, { fallbacks, user: body.user, pinnedProvider });
    request.relay.stream = body.stream === true;
    const outcome = await upstream.run((deployment) => callDeployment(deployment, body, translation, upstream.call, request.relay.admission?.outputCap));
    const answer = outcome.value;
    switch (answer.kind) {
      case 'native-json':
        request.relay.usage = answer.result.usage;
        // Recorded before the answer goes out: the client's next turn finds the record at any replica.
        if (body.store !== false && answer.result.id !== undefined) await stored.record([answer.result.id, ...(answer.result.itemIds ?? [])], principal.id, outcome.deployment.provider.name);
        return reply.type('application/json').send(answer.result.body);
      case 'translated-json': {
        recordAnswerUsage(request.relay, answer.result.usage, () => answer.result.completion());
        const response = convertToResponse(answer.result.completion(), body, answer.result.usage, answer.customTools);
        await keep(principal.id, response.output);
        return reply.type('application/json').send(response);
      }
      case 'native-stream': {
        const provider = outcome.deployment.provider.name;
        await relayNativeStream(request, reply, answer.chunks, answer.first, body.store === false ? undefined : (ids) => stored.record(ids, principal.id, provider));
        return reply;
      }
      default: {
        const encoder = new ResponseEventEncoder(responseShell(body, itemId('resp'), Math.floor(Date.now() / 1000)), answer.customTools);
        await writeTranslatedStream(request, reply, answer.parts, answer.first, encoder, () => keep(principal.id, encoder.items()));
        return reply;
      }
    }
  });

  // The Responses API's stored-response routes: a response an upstream stored for this key is
  // fetched from (deleted at, …) the provider that holds it; the relay itself stores none.
  const notStored = (id: string): RelayError =>
    new RelayError(`No stored response with id '${id}' for this key: the relay serves a stored response only to the key that got it, from the upstream that stored it, and stores none of its own. Read a response from the answer to its request (or its stream), and send conversations whole in \`input\`.`, {
      status: 404,
      type: 'not_found_error',
      code: 'response_not_stored',
    });
  const storedResponseRoute =
    (method: 'GET' | 'DELETE' | 'POST', suffix: string) =>
    async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
      // A request like any other for the key's requests per minute and parallel limit, though it uses no tokens.
      const admitted = admitFreeRequest(request, reply, services);
      if (admitted !== undefined) await admitted;
      const { id } = request.params as { id: string };
      const holder = await stored.holder(id, request.relay.principal!.id);
      const provider = holder === undefined ? undefined : services.router.providerNamed(holder);
      if (provider?.storedResponse === undefined) throw notStored(id);
      const queryAt = request.url.indexOf('?');
      const query = queryAt === -1 ? '' : request.url.slice(queryAt);
      if (method === 'GET' && (request.query as Record<string, unknown>).stream === 'true') {
        throw new RelayError('The relay retrieves a stored response as JSON: `stream` is for background responses, which the relay does not make. Retrieve it without `stream`.', {
          status: 400,
          type: 'invalid_request_error',
          code: 'unsupported_parameter',
          param: 'stream',
        });
      }
      const signal = new CallSignal();
      const call: ProviderCall = { signal, timeoutMs: services.config.timeoutMs, requestId: request.id, strict: false, dropped: [] };
      // A client that leaves stops the upstream call, rather than leaving it to run to its timeout
      // (and holding the relay's shutdown, which waits for upstream calls in flight, as long).
      request.relay.onClose = new AbortWhenLeft(signal);
      // Gone already, while the store was asked.
      if (request.relay.closed) signal.abort();
      let result;
      try {
        result = await provider.storedResponse(method, `/responses/${encodeURIComponent(id)}${suffix}${query}`, call);
      } catch (error) {
        if (error instanceof CallAbortedError) {
          throw new RelayError('The client closed the connection before the answer was ready.', { status: 499, type: 'invalid_request_error', code: 'client_closed_request' });
        }
        throw error instanceof UpstreamError ? toClientError(error, request.id, services.upstreamSecrets) : error;
      }
      request.relay.provider = services.providerName(provider);
      reply.header('x-relay-provider', headerText(provider.name));
      return reply.type('application/json').send(result.body);
    };
  app.get('/v1/responses/:id', storedResponseRoute('GET', ''));
  app.delete('/v1/responses/:id', storedResponseRoute('DELETE', ''));
  app.get('/v1/responses/:id/input_items', storedResponseRoute('GET', '/input_items'));
  app.post('/v1/responses/:id/cancel', storedResponseRoute('POST', '/cancel'));
}

/** Aborts a call when its response closes before it was sent to the end (the client left). */
class AbortWhenLeft {
  constructor(private readonly signal: CallSignal) {}

  closed(complete: boolean): void {
    if (!complete) this.signal.abort();
  }
}

/** The `item_reference`s in a request's input: each id, and its position in `input`. */
function referencedItems(body: ResponsesRequest): Array<{ id: string; index: number }> {
  if (!Array.isArray(body.input)) return [];
  const items: Array<{ id: string; index: number }> = [];
  body.input.forEach((item, index) => {
    if (item?.type === 'item_reference' && typeof item.id === 'string') items.push({ id: item.id, index });
  });
  return items;
}

/** Whether some configured upstream takes the Responses API as it is. */
function servesResponsesApi(services: RelayServices): boolean {
  for (const provider of services.config.providers.values()) if (provider.responsesApi) return true;
  return false;
}

/** Ends a committed stream with one `error` event (numbered `sequenceNumber`); the client is told what failed, never the upstream's internals. */
function endWithError(request: FastifyRequest, reply: FastifyReply, writer: SseWriter, error: unknown, sequenceNumber: () => number): void {
  const clientError = streamFailure(error, request);
  if (clientError !== undefined && !writer.closed) reply.raw.end(responsesErrorEvent(clientError.toJSON(), sequenceNumber()));
}

/**
 * Relays an upstream's own Responses stream byte for byte (event by event, an `error` or
 * `response.failed` event without the relay's upstream credentials), reading its usage on the way. `record`
 * is called with the ids of a stored response as its events name them (the response's, its output
 * items'); the event that ends the response waits until they are written, so a client that sends
 * its next turn on it finds them at any replica.
 */
async function relayNativeStream(
  request: FastifyRequest,
  reply: FastifyReply,
  chunks: AsyncIterator<Buffer>,
  first: IteratorResult<Buffer>,
  record?: (ids: string[]) => Promise<void>,
): Promise<void> {
  const writer = commitStream(request, reply, chunks);
  let recording: Promise<unknown> | undefined;
  const watcher = new ResponsesStreamWatcher(record === undefined ? undefined : (ids) => (recording = Promise.all([recording, record(ids)])));
  // On the request from the start: a client that leaves is metered at once (when its response
  // closes), for what it was delivered, before this loop hears of it.
  request.relay.delivered = watcher.delivered;
  const redactor = new ErrorEventRedactor(request.relay.upstreamSecrets, request.relay.provider);
  try {
    const finished = await writeStreamValues(
      writer,
      chunks,
      first,
      (bytes) => {
        watcher.push(bytes);
        if (watcher.usage !== undefined) request.relay.usage = watcher.usage;
        return redactor.push(bytes);
      },
      {
        // The bytes that end the response wait for the records.
        holdBack: () => (watcher.complete || watcher.failed ? recording : undefined),
        // Complete at the event that ends the response: what the upstream does after it changes nothing.
        ended: () => watcher.complete,
      },
    );
    if (!finished) return;
    // The upstream closed cleanly without the event that ends a response: the answer was cut, and the client must hear so.
    if (!watcher.complete && !watcher.failed) throw streamCut(request.relay.provider, 'its response ended');
    if (recording !== undefined) await recording;
    if (!writer.closed) reply.raw.end(redactor.end());
  } catch (error) {
    endWithError(request, reply, writer, error, () => watcher.lastSequence + 1);
  } finally {
    // The client got the upstream's own error event; the relay still records the stream as failed.
    if (watcher.failed) request.relay.errorCode ??= 'upstream_error';
  }
}

/** Writes a chat stream as Responses events; `beforeEnd` runs once all items are known, before the last event goes out. */
async function writeTranslatedStream(
  request: FastifyRequest,
  reply: FastifyReply,
  parts: AsyncIterator<StreamPart>,
  first: IteratorResult<StreamPart>,
  encoder: ResponseEventEncoder,
  beforeEnd: () => Promise<void>,
): Promise<void> {
  const writer = commitStream(request, reply, parts);
  try {
    writer.raw(Buffer.from(encoder.start()));
    const finished = await writeStreamValues(writer, parts, first, (part) => {
      if (part.usage !== undefined) request.relay.usage = part.usage;
      else if (part.startUsage !== undefined) request.relay.startUsage = part.startUsage;
      // Kept only while no usage has come, to bill a stream that is cut for what it delivered.
      else if (request.relay.usage === undefined) (request.relay.delivered ??= new DeliveredText()).add(part.data);
      const chunk = parseChunk(part);
      return chunk === undefined ? '' : encoder.push(chunk, part.usage);
    });
    if (!finished) return;
    const last = encoder.finish();
    await beforeEnd();
    // Responses streams end with their last event: no `[DONE]` as chat streams have.
    if (!writer.closed) reply.raw.end(last);
  } catch (error) {
    endWithError(request, reply, writer, error, () => encoder.nextSequence());
  }
}
