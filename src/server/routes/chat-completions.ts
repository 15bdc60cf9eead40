import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { StreamPart } from '../../providers/provider.js';
import type { ChatRequest } from '../../spec/openai-chat.js';
import { ChatCompletionBody } from '../request-schemas.js';
import type { RelayServices } from '../relay-services.js';
import { commitStream, streamFailure } from '../stream-lifecycle.js';
import { DeliveredText } from '../delivered-text.js';
import { recordAnswerUsage } from '../record-answer-usage.js';
import { prepareUpstreamCall } from '../upstream-call.js';
import { admitRequest, completionsAsked, jsonBytes, marksCacheBreakpoint, messagesBytes, messagesTally } from '../admit-request.js';
import { fallbackModels, forDeployment, openEndedOutput, reservedChoices, sendInLimitField } from '../output-limit.js';
import type { Principal } from '../../auth/principal.js';
import type { Deployment } from '../../routing/deployment.js';
import type { ResolvedModel } from '../../routing/model-router.js';

/**
 * `POST /v1/chat/completions`: JSON or SSE. A stream is committed to the client only once its first
 * part arrived, so that a failure before that point can still be retried elsewhere; after it, a
 * failure ends the stream with one OpenAI-shaped error event.
 * @see https://platform.openai.com/docs/api-reference/chat/create
 */
export function registerChatCompletions(app: FastifyInstance, services: RelayServices): void {
  app.post('/v1/chat/completions', { schema: { body: ChatCompletionBody } }, async (request, reply) => {
    // `fallbacks` is the relay's own field: it never goes upstream (the body is copied only to drop it).
    const body = request.body as ChatRequest & { fallbacks?: string[] };
    const fallbacks = body.fallbacks;
    const chatRequest: ChatRequest = fallbacks === undefined ? body : withoutFallbacks(body);
    const resolved = services.router.resolve(chatRequest.model, request.relay.principal!);
    const admitting = admitRequest(request, reply, services, resolved.model, {
      promptTally: () => messagesTally(chatRequest.messages),
      // Tool (and legacy function) definitions are prompt tokens too, often more than the messages.
      promptBytes: () => messagesBytes(chatRequest.messages) + jsonBytes(chatRequest.tools) + jsonBytes(chatRequest.functions),
      mayWriteCache: () => marksCacheBreakpoint(chatRequest),
      maxOutputTokens: chatRequest.max_completion_tokens ?? chatRequest.max_tokens ?? undefined,
      // `n` choices: each may use max_tokens, and the upstream bills them all (where it answers n).
      completions: choicesReserved(completionsAsked((chatRequest as { n?: unknown }).n), resolved, services, request.relay.principal!, fallbacks),
      fallbacks,
      openEnded: () => openEndedOutput(resolved, () => fallbackModels(services.router, resolved.model, request.relay.principal!, fallbacks), services.billing.defaultMaxTokens),
    });
    // Admitted at once (in memory) unless a store was asked: no turn of the event loop is spent waiting for nothing.
    if (admitting !== undefined) await admitting;
    const upstream = prepareUpstreamCall(request, reply, services, resolved, { fallbacks, user: chatRequest.user });
    // Set when admission reserved the key's money for less output than the upstream would write unasked.
    const outputCap = request.relay.admission?.outputCap;
    resolved.route.shadow?.maybeMirror(chatRequest, resolved.route.timeoutMs ?? services.config.timeoutMs, request.id);
    if (chatRequest.stream !== true) {
      const outcome = await upstream.run((deployment) => sendInLimitField(forDeployment(chatRequest, deployment, outputCap), (sent) => deployment.provider.chat(sent, deployment.model, upstream.call), deployment));
      recordAnswerUsage(request.relay, outcome.value.usage, () => outcome.value.completion());
      return reply.type('application/json').send(outcome.value.body);
    }
    request.relay.stream = true;
    // The client reads OpenAI chunks: an OpenAI-compatible upstream's events are relayed as they are.
    upstream.call.passthrough = { includeUsage: chatRequest.stream_options?.include_usage === true };
    const outcome = await upstream.run(async (deployment) => {
      const parts = await sendInLimitField(forDeployment(chatRequest, deployment, outputCap), (sent) => deployment.provider.chatStream(sent, deployment.model, upstream.call), deployment);
      const first = await parts.next();
      return { parts, first };
    });
    await relayStream(request, reply, outcome.value.parts, outcome.value.first, chatRequest.stream_options?.include_usage === true);
    return reply;
  });
}

function withoutFallbacks(body: ChatRequest & { fallbacks?: string[] }): ChatRequest {
  const { fallbacks: _relayOnly, ...rest } = body;
  return rest;
}

async function relayStream(
  request: FastifyRequest,
  reply: FastifyReply,
  parts: AsyncIterator<StreamPart>,
  first: IteratorResult<StreamPart>,
  clientWantsUsage: boolean,
): Promise<void> {
  const writer = commitStream(request, reply, parts);
  let current = first;
  try {
    while (current.done !== true) {
      const part = current.value;
      if (part.usage !== undefined) request.relay.usage = part.usage;
      else if (part.startUsage !== undefined) request.relay.startUsage = part.startUsage;
      // Kept only while no usage has come, to bill a stream that is cut for what it delivered.
      else if (request.relay.usage === undefined) {
        const delivered = (request.relay.delivered ??= new DeliveredText());
        if (part.text !== undefined) delivered.addText(part.text);
        else delivered.add(part.data);
      }
      let pending: Promise<void> | undefined;
      if (part.raw !== undefined) {
        if (part.raw.length > 0) pending = writer.readEvents(part.raw);
      } else if (!(part.usageOnly === true && !clientWantsUsage)) {
        pending = writer.data(part.data);
      }
      if (pending !== undefined) await pending;
      if (writer.closed) {
        await parts.return?.();
        return;
      }
      current = await parts.next();
    }
    writer.done();
  } catch (error) {
    const clientError = streamFailure(error, request);
    if (clientError !== undefined) writer.fail(clientError.toJSON());
  }
}

/** The choices a request is reserved for (see `reservedChoices`); 1 without looking when it asks for one. */
function choicesReserved(asked: number, resolved: ResolvedModel, services: RelayServices, principal: Principal, fallbacks: readonly string[] | undefined): number {
  if (asked === 1) return 1;
  return reservedChoices(asked, resolved, () => fallbackModels(services.router, resolved.model, principal, fallbacks), answersChoices);
}

/** An upstream reached through its chat API answers `n` choices; one reached through Anthropic's Messages API answers one. */
const answersChoices = (deployment: Deployment): boolean => deployment.provider.messages === undefined;
