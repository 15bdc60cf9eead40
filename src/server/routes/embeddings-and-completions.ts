import type { FastifyInstance } from 'fastify';
import { streamCut } from '../../providers/upstream-failure.js';
import { UpstreamError } from '../../spec/relay-error.js';
import { CompletionsBody, EmbeddingsBody, ModerationsBody } from '../request-schemas.js';
import type { RelayServices } from '../relay-services.js';
import { ErrorEventRedactor } from '../redact-error-events.js';
import { commitStream, streamFailure } from '../stream-lifecycle.js';
import { prepareUpstreamCall } from '../upstream-call.js';
import { admitRequest, completionsAsked, textPrompt } from '../admit-request.js';
import { CompletionsStreamWatcher } from '../watch-completions-stream.js';
import { nativeAnswer, writeStreamValues } from '../write-stream-parts.js';
import { recordAnswerUsage } from '../record-answer-usage.js';

/** Moderations cost nothing at OpenAI: counted as requests, never as tokens. */
const freeUsage = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };

/**
 * `POST /v1/embeddings`, `POST /v1/moderations` and the legacy `POST /v1/completions`: routed like
 * chat, and passed through as they are (a completions stream is relayed byte for byte, event by
 * event, committed to the client at its first chunk as chat streams are; an error event in it
 * leaves without the relay's upstream credentials).
 * @see https://platform.openai.com/docs/api-reference/embeddings
 * @see https://platform.openai.com/docs/api-reference/moderations
 * @see https://platform.openai.com/docs/api-reference/completions
 */
export function registerEmbeddingsAndCompletions(app: FastifyInstance, services: RelayServices): void {
  app.post('/v1/embeddings', { schema: { body: EmbeddingsBody } }, async (request, reply) => {
    const body = request.body as Record<string, unknown> & { model: string };
    const resolved = services.router.resolve(body.model, request.relay.principal!);
    await admitRequest(request, reply, services, resolved.model, { ...textPrompt(() => JSON.stringify(body.input)), maxOutputTokens: 0 });
    const upstream = prepareUpstreamCall(request, reply, services, resolved, { user: body.user });
    const outcome = await upstream.run((deployment) => deployment.provider.embeddings(body, deployment.model, upstream.call));
    request.relay.usage = outcome.value.usage;
    return reply.type('application/json').send(outcome.value.body);
  });

  app.post('/v1/moderations', { schema: { body: ModerationsBody } }, async (request, reply) => {
    const body = request.body as Record<string, unknown> & { model?: string };
    // OpenAI's default when the request names none.
    const resolved = services.router.resolve(body.model ?? 'omni-moderation-latest', request.relay.principal!);
    // Counted as a request, never as tokens: nothing is reserved against the key's TPM.
    await admitRequest(request, reply, services, resolved.model, { ...textPrompt(() => ''), maxOutputTokens: 0 });
    const upstream = prepareUpstreamCall(request, reply, services, resolved);
    const outcome = await upstream.run((deployment) => {
      const { provider } = deployment;
      if (provider.moderations === undefined) {
        throw new UpstreamError(`${provider.name}: moderations requested from a ${provider.type} upstream`, {
          reason: 'invalid_request',
          status: 400,
          provider: provider.name,
          upstreamMessage: `The model is served by ${provider.name}, whose API has no moderations endpoint. Use a moderation model of an upstream that speaks the OpenAI API (omni-moderation-latest).`,
          upstreamType: 'invalid_request_error',
          upstreamCode: 'unsupported_endpoint',
        });
      }
      return provider.moderations(body, deployment.model, upstream.call);
    });
    request.relay.usage = freeUsage;
    return reply.type('application/json').send(outcome.value.body);
  });

  app.post('/v1/completions', { schema: { body: CompletionsBody } }, async (request, reply) => {
    const body = request.body as Record<string, unknown> & { model: string };
    const resolved = services.router.resolve(body.model, request.relay.principal!);
    await admitRequest(request, reply, services, resolved.model, {
      ...textPrompt(() => (typeof body.prompt === 'string' ? body.prompt : JSON.stringify(body.prompt ?? ''))),
      maxOutputTokens: typeof body.max_tokens === 'number' ? body.max_tokens : undefined,
      // Each prompt of a batch gets `best_of` (or `n`) completions, each of up to max_tokens.
      completions: promptCount(body.prompt) * completionsAsked(body.n, body.best_of),
      openEnded: legacyDefaultOutput,
    });
    // A metered key's request without max_tokens goes with the limit its money was reserved for.
    const cap = request.relay.admission?.outputCap;
    const sent = cap === undefined || typeof body.max_tokens === 'number' ? body : { ...body, max_tokens: cap };
    const upstream = prepareUpstreamCall(request, reply, services, resolved, { user: body.user });
    // A stream's first chunk is read inside the attempt: a failure before it is still retried elsewhere.
    const outcome = await upstream.run(async (deployment) => nativeAnswer(await deployment.provider.completions(sent, deployment.model, upstream.call), deployment.provider.name));
    const answer = outcome.value;
    if (answer.kind === 'native-json') {
      recordAnswerUsage(request.relay, answer.result.usage, () => JSON.parse(answer.result.body.toString('utf8')));
      return reply.type('application/json').send(answer.result.body);
    }
    request.relay.stream = true;
    const writer = commitStream(request, reply, answer.chunks);
    // Read as it is relayed, and kept on the request from the start: a client that leaves is metered at once, for what it got.
    const watcher = new CompletionsStreamWatcher();
    request.relay.delivered = watcher.delivered;
    // An upstream's error event leaves without the relay's credentials.
    const redactor = new ErrorEventRedactor(request.relay.upstreamSecrets, request.relay.provider);
    try {
      const finished = await writeStreamValues(
        writer,
        answer.chunks,
        answer.first,
        (bytes) => {
          watcher.push(bytes);
          if (watcher.usage !== undefined) request.relay.usage = watcher.usage;
          return redactor.push(bytes);
        },
        // Complete at [DONE]: what the upstream does after it (drops the connection, leaves it open) changes nothing.
        { ended: () => watcher.ended },
      );
      if (!finished) return reply;
      // The upstream closed cleanly without [DONE] or a finish reason: the answer was cut, and the client must hear so.
      if (!watcher.complete && !watcher.failed) throw streamCut(request.relay.provider, '[DONE]');
      reply.raw.end(redactor.end());
    } catch (error) {
      // The same as a chat stream: one OpenAI-shaped error event, and the failure in the access log.
      const clientError = streamFailure(error, request);
      if (clientError !== undefined) writer.fail(clientError.toJSON());
    } finally {
      // The client got the upstream's own error event; the relay still records the stream as failed.
      if (watcher.failed) request.relay.errorCode ??= 'upstream_error';
    }
    return reply;
  });
}

/**
 * What a legacy completion without `max_tokens` may write: 16 tokens, the API's default (OpenAI's
 * and vLLM's), and `bounded: false` because other servers default to more (llama.cpp and Ollama
 * write until the model stops): a metered key's request is reserved for 16 tokens a completion and
 * sent `max_tokens: 16` (or what its budget still pays for), so that no answer costs more than was
 * reserved; a key that pays nothing sends the request as it came.
 */
const legacyDefaultOutput = () => ({ tokens: 16, bounded: false });

/**
 * The prompts of a legacy completion: a string or a list of tokens is one; a list of strings, or of
 * token lists, is a batch of as many.
 */
function promptCount(prompt: unknown): number {
  if (!Array.isArray(prompt) || prompt.length === 0 || typeof prompt[0] === 'number') return 1;
  return prompt.length;
}
