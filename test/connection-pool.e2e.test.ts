import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockOpenAIUpstream } from './support/mock-openai-upstream.js';
import { masterKey, startRelay, type StartedRelay } from './support/start-relay.js';

/**
 * CONNECTION_POOL_SIZE is documented as the keep-alive connections kept per upstream origin (the
 * playbook's "connection pooling"): how many idle connections are reused, not how many requests a
 * pod may have in flight to one upstream. Streams last minutes; a pod that holds as many streams as
 * the pool size must still relay the next request, not hold it until it times out and answer it
 * with a 504 that blames the upstream, which never saw it.
 */
describe('CONNECTION_POOL_SIZE', () => {
  const upstream = new MockOpenAIUpstream();
  let relay: StartedRelay;

  beforeAll(async () => {
    await upstream.start();
    relay = await startRelay({
      HOLYSHEEP_API_KEY: 'hs-test-0123456789',
      HOLYSHEEP_BASE_URL: upstream.url,
      CONNECTION_POOL_SIZE: '1',
      TIMEOUT_MS: '1000',
      MAX_RETRIES: '0',
    });
  });
  afterAll(async () => {
    await relay.close();
    await upstream.stop();
  });

  it('relays a request while as many streams as the pool size are open to the same upstream', async () => {
    const client = new OpenAI({ apiKey: masterKey, baseURL: relay.baseURL, maxRetries: 0 });
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const chunk = (content: string, finish: string | null) => ({ id: 'chatcmpl-held', object: 'chat.completion.chunk', created: 1, model: 'gpt-4.1', choices: [{ index: 0, delta: { content }, finish_reason: finish }] });
    upstream.next({ kind: 'events', events: [chunk('Hel', null), held, chunk('lo', 'stop')] });
    const stream = await client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'a long answer' }], stream: true });
    try {
      // One stream in flight (a long answer still being written); a second client asks meanwhile.
      const second = await client.chat.completions
        .create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'Hello' }] })
        .then(
          (completion) => ({ status: 200, content: completion.choices[0]?.message.content }),
          (error: unknown) => ({ status: (error as { status?: number }).status, content: (error as Error).message }),
        );
      expect(second).toEqual({ status: 200, content: 'echo: Hello' });
      expect(upstream.requests.map((received) => received.body.messages)).toContainEqual([{ role: 'user', content: 'Hello' }]);
    } finally {
      release();
    }
    let text = '';
    for await (const part of stream) text += part.choices[0]?.delta.content ?? '';
    expect(text).toBe('Hello');
  });
});
