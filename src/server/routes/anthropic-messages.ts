import type { FastifyInstance } from 'fastify';
import type { Deployment } from '../../routing/deployment.js';
import type { AnthropicRequest } from '../../spec/anthropic-messages.js';
import { readAnthropicBetas } from '../anthropic/anthropic-beta.js';
import { anthropicErrorHandler } from '../anthropic/anthropic-error-handler.js';
import { AnthropicCountTokensBody, AnthropicMessagesBody } from '../anthropic/anthropic-request-schema.js';
import { callMessagesTarget } from '../anthropic/call-messages-target.js';
import { countAnthropicTokens } from '../anthropic/count-anthropic-tokens.js';
import { requireMessageContent } from '../anthropic/require-message-content.js';
import { writeAnthropicStream } from '../anthropic/write-anthropic-stream.js';
import { recordAnswerUsage } from '../record-answer-usage.js';
import type { RelayServices } from '../relay-services.js';
import { prepareUpstreamCall } from '../upstream-call.js';
import { admitRequest, jsonBytes, marksCacheBreakpoint, messagesBytes, messagesTally } from '../admit-request.js';
import { fallbackModels, reservedOutputTokens } from '../output-limit.js';

/** Whether `/v1/messages` reaches a deployment by translation (its provider has no Messages API). */
const translatesMessages = (deployment: Deployment): boolean => deployment.provider.messages === undefined;

/** The system prompt as text: a string as it is, blocks as JSON. */
const systemText = (system: AnthropicRequest['system']): string => (typeof system === 'string' ? system : JSON.stringify(system ?? ''));

/**
 * The Anthropic-compatible front door: `POST /v1/messages` (JSON and SSE) and
 * `POST /v1/messages/count_tokens`, so that Anthropic's SDKs and tools built on them work against
 * the relay. A Claude model on an Anthropic upstream is passed through untouched; any other model
 * is translated to and from the OpenAI format. Every error, the onRequest hook's auth refusals
 * included, is rendered in Anthropic's error shape.
 * @see https://docs.anthropic.com/en/api/messages
 * @see https://docs.anthropic.com/en/api/messages-count-tokens
 */
export function registerAnthropicMessages(app: FastifyInstance, services: RelayServices): void {
  app.post('/v1/messages', { schema: { body: AnthropicMessagesBody }, errorHandler: anthropicErrorHandler }, async (request, reply) => {
    reply.header('request-id', request.id);
    // Checked before anything is reserved: the header goes on to an Anthropic upstream.
    const betas = readAnthropicBetas(request.headers['anthropic-beta']);
    // `fallbacks` is the relay's own field, as on /v1/chat/completions: it never goes upstream.
    const { fallbacks, ...body } = request.body as AnthropicRequest & { fallbacks?: string[] };
    requireMessageContent(body.messages);
    const principal = request.relay.principal!;
    const resolved = services.router.resolve(body.model, principal, 404);
    await admitRequest(request, reply, services, resolved.model, {
      promptTally: () => messagesTally(body.messages, { texts: [systemText(body.system)], tokens: 0 }),
      // The system prompt, the messages and the tool definitions: all are input tokens.
      promptBytes: () => Buffer.byteLength(systemText(body.system)) + 1 + messagesBytes(body.messages) + jsonBytes(body.tools),
      mayWriteCache: () => marksCacheBreakpoint(body),
      // What the attempts can send: translations lower max_tokens to the upstream model's limit.
      maxOutputTokens: reservedOutputTokens(body.max_tokens, resolved, () => fallbackModels(services.router, resolved.model, principal, fallbacks), translatesMessages),
      fallbacks,
    });
    // metadata.user_id plays the part of OpenAI's `user`: it keeps one end user on one side of a canary.
    const upstream = prepareUpstreamCall(request, reply, services, resolved, { fallbacks, user: body.metadata?.user_id });
    if (betas !== undefined) upstream.call.anthropicBetas = betas;
    request.relay.stream = body.stream === true;
    const outcome = await upstream.run((deployment) => callMessagesTarget(deployment, body, upstream.call));
    const answer = outcome.value;
    switch (answer.kind) {
      case 'native-json':
        request.relay.usage = answer.result.usage;
        return reply.type('application/json').send(answer.result.body);
      case 'translated-json':
        recordAnswerUsage(request.relay, answer.usage, () => answer.completion);
        return reply.type('application/json').send(answer.message);
      default:
        await writeAnthropicStream(request, reply, answer, body.model);
        return reply;
    }
  });

  app.post('/v1/messages/count_tokens', { schema: { body: AnthropicCountTokensBody }, errorHandler: anthropicErrorHandler }, async (request, reply) => {
    reply.header('request-id', request.id);
    const body = request.body as AnthropicRequest;
    requireMessageContent(body.messages);
    // Resolving checks that the model is served and that this key may use it, as a real call would.
    services.router.resolve(body.model, request.relay.principal!, 404);
    reply.header('x-relay-token-count', 'estimate');
    return { input_tokens: await countAnthropicTokens(body) };
  });
}
