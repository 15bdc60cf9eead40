import Fastify, { type FastifyInstance } from 'fastify';
import { request as send } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { relayErrorHandler } from './relay-error-handler.js';
import { commitStream } from './stream-lifecycle.js';

/** An upstream's stream as the routes hold it once its first part came: it records being let go. */
function upstreamStream(): AsyncIterator<string> & { released: boolean } {
  return {
    released: false,
    next: async () => ({ done: false, value: 'data: {}\n\n' }),
    async return() {
      this.released = true;
      return { done: true, value: undefined };
    },
  };
}

/**
 * Every header the relay fills with text it did not write is made safe before it is set; should
 * one be missed, Node refuses to send it (ERR_INVALID_CHAR). The answer must still end, in the
 * relay's shape, rather than leave the client waiting on a stream nothing will write to.
 */
describe('an answer whose headers Node refuses to send', () => {
  let app: FastifyInstance;
  let origin: string;
  const upstream = upstreamStream();

  beforeAll(async () => {
    app = Fastify();
    app.setErrorHandler(relayErrorHandler);
    app.post('/stream', async (request, reply) => {
      reply.header('x-relay-dropped-params', '温度');
      commitStream(request, reply, upstream);
      return reply;
    });
    app.post('/json', async (_request, reply) => reply.header('x-relay-model', 'line\r\nbreak').send({ id: 'chatcmpl-1' }));
    origin = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(() => app.close());

  it('ends a stream that could not start with an OpenAI-shaped 500, and lets the upstream stream go', async () => {
    const response = await send(`${origin}/stream`, { method: 'POST', headersTimeout: 5_000, bodyTimeout: 5_000 });
    expect(response.statusCode).toBe(500);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expect(response.headers['x-relay-dropped-params']).toBeUndefined();
    expect(await response.body.json()).toMatchObject({ error: { type: 'server_error', code: 'internal_error' } });
    expect(upstream.released).toBe(true);
  });

  it('answers a JSON answer with an OpenAI-shaped 500, not Fastify’s own', async () => {
    const response = await send(`${origin}/json`, { method: 'POST', headersTimeout: 5_000, bodyTimeout: 5_000 });
    expect(response.statusCode).toBe(500);
    expect(response.headers['x-relay-model']).toBeUndefined();
    expect(await response.body.json()).toMatchObject({ error: { type: 'server_error', code: 'internal_error', param: null } });
  });
});
