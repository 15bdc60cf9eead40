import OpenAI, { APIUserAbortError, BadRequestError, NotFoundError, RateLimitError } from 'openai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MemoryRelayStore } from '../src/store/memory-relay-store.js';
import { openStore } from '../src/store/open-store.js';
import { MockOpenAIUpstream } from './support/mock-openai-upstream.js';
import { masterKey, startRelay, type StartedRelay } from './support/start-relay.js';
import { adminJson } from './support/limited-relay.js';

/**
 * Responses stored upstream (`/v1/responses` passed through, `store` not false) stay with the key
 * that got them and with the upstream account that holds them: `gpt-x` is served by two
 * OpenAI-compatible upstreams that both speak the Responses API (two accounts, equal weights), and
 * two relays share one database, as replicas do.
 */

const east = new MockOpenAIUpstream().uniqueResponseIds('resp_east_');
const west = new MockOpenAIUpstream().uniqueResponseIds('resp_west_');
const relays: StartedRelay[] = [];

async function startReplica(directory: string): Promise<StartedRelay> {
  const store = await openStore({ sqlitePath: join(directory, 'relay.db') });
  const relay = await startRelay({}, directory, { store });
  relays.push(relay);
  return relay;
}

async function createKey(relayUrl: string, name: string): Promise<string> {
  const created = await request(`${relayUrl}/admin/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${masterKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name }),
  });
  return ((await created.body.json()) as { key: string }).key;
}

/** A streamed response read to its end, as an application reads it: its id, and the provider that answered. */
async function streamed(client: OpenAI, params: Omit<OpenAI.Responses.ResponseCreateParamsStreaming, 'stream'>): Promise<{ id: string; provider: string | null }> {
  const { data, response } = await client.responses.create({ ...params, stream: true }).withResponse();
  let id: string | undefined;
  for await (const event of data) if (event.type === 'response.completed') id = event.response.id;
  return { id: id!, provider: response.headers.get('x-relay-provider') };
}

describe('stored responses: previous_response_id stays with its key and its upstream account', () => {
  let first: StartedRelay;
  let second: StartedRelay;
  let alice: OpenAI;
  let bob: OpenAI;
  let aliceAtSecond: OpenAI;
  let aliceKey: string;
  let bobKey: string;
  let sharedDirectory: string;

  beforeAll(async () => {
    await Promise.all([east.start(), west.start()]);
    const directory = mkdtempSync(join(tmpdir(), 'relay-stored-responses-'));
    writeFileSync(
      join(directory, 'relay.yaml'),
      [
        'providers:',
        `  east: { type: openai, baseUrl: "${east.url}", apiKey: east-key-0123456789, responsesApi: true }`,
        `  west: { type: openai, baseUrl: "${west.url}", apiKey: west-key-0123456789, responsesApi: true }`,
        `  plain: { type: openai, baseUrl: "${east.url}", apiKey: plain-key-0123456789 }`,
        'models:',
        '  gpt-x: { targets: [{ provider: east, model: gpt-4.1 }, { provider: west, model: gpt-4.1 }] }',
        '  gpt-west: { targets: [{ provider: west, model: gpt-4.1 }] }',
        '  gpt-east: { targets: [{ provider: east, model: gpt-4.1 }] }',
        // Served by translation to chat (the same mock server, as a plain chat upstream).
        `  llama: { targets: [{ provider: plain, model: llama-3.1 }] }`,
        '',
      ].join('\n'),
    );
    first = await startReplica(directory);
    second = await startReplica(directory);
    sharedDirectory = directory;
    aliceKey = await createKey(first.url, 'alice');
    bobKey = await createKey(first.url, 'bob');
    alice = new OpenAI({ apiKey: aliceKey, baseURL: first.baseURL, maxRetries: 0 });
    aliceAtSecond = new OpenAI({ apiKey: aliceKey, baseURL: second.baseURL, maxRetries: 0 });
    bob = new OpenAI({ apiKey: bobKey, baseURL: second.baseURL, maxRetries: 0 });
    // The second replica learns of keys made at the first by polling the database (within a second).
    for (const key of [aliceKey, bobKey]) {
      for (let tries = 0; (await request(`${second.url}/v1/models`, { headers: { authorization: `Bearer ${key}` } })).statusCode !== 200; tries++) {
        if (tries === 100) throw new Error('the second replica never accepted a key made at the first');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  });
  afterAll(async () => {
    for (const relay of relays) await relay.close();
    await Promise.all([east.stop(), west.stop()]);
  });
  beforeEach(() => {
    east.reset();
    west.reset();
  });

  it('sends every later turn of a conversation to the upstream that stored it, at either replica, JSON and streamed', async () => {
    const { data: opening, response } = await alice.responses.create({ model: 'gpt-x', input: 'Remember the number 7.' }).withResponse();
    const holder = response.headers.get('x-relay-provider')!;
    expect(opening.id.startsWith(`resp_${holder}_`)).toBe(true);
    let previous = opening.id;
    for (let turn = 0; turn < 8; turn++) {
      const client = turn % 2 === 0 ? aliceAtSecond : alice;
      if (turn % 3 === 0) {
        const next = await streamed(client, { model: 'gpt-x', input: `Turn ${turn}.`, previous_response_id: previous });
        expect(next.provider).toBe(holder);
        previous = next.id;
      } else {
        const { data, response: turnResponse } = await client.responses.create({ model: 'gpt-x', input: `Turn ${turn}.`, previous_response_id: previous }).withResponse();
        expect(turnResponse.headers.get('x-relay-provider')).toBe(holder);
        expect(data.previous_response_id).toBe(previous);
        previous = data.id;
      }
    }
    const [holding, other] = holder === 'east' ? [east, west] : [west, east];
    expect(holding.requests).toHaveLength(9);
    expect(other.requests).toHaveLength(0);
  });

  it("refuses another key's stored response as the upstream refuses an unknown one, sending nothing upstream", async () => {
    const { id } = await streamed(alice, { model: 'gpt-x', input: 'A secret plan.' });
    east.reset();
    west.reset();
    for (const stream of [false, true]) {
      const error = await bob.responses.create({ model: 'gpt-x', input: 'What was the plan?', previous_response_id: id, stream }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(BadRequestError);
      expect(error).toMatchObject({ status: 400, code: 'previous_response_not_found', param: 'previous_response_id', message: expect.stringContaining(`Previous response with id '${id}' not found.`) });
    }
    expect(east.requests.length + west.requests.length).toBe(0);
    // The key that got it still continues it.
    const continued = await aliceAtSecond.responses.create({ model: 'gpt-x', input: 'What was the plan?', previous_response_id: id });
    expect(continued.previous_response_id).toBe(id);
  });

  it('fetches, lists the input of and deletes a stored response at the upstream that holds it, for the key that got it alone', async () => {
    const { data: created, response } = await alice.responses.create({ model: 'gpt-x', input: 'Keep this for later.' }).withResponse();
    const holder = response.headers.get('x-relay-provider');
    const { data: fetched, response: fetchedResponse } = await aliceAtSecond.responses.retrieve(created.id).withResponse();
    expect(fetched).toEqual(created);
    expect(fetchedResponse.headers.get('x-relay-provider')).toBe(holder);
    const items = await aliceAtSecond.responses.inputItems.list(created.id);
    expect(items.data).toMatchObject([{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Keep this for later.' }] }]);

    east.reset();
    west.reset();
    for (const attempt of [() => bob.responses.retrieve(created.id), () => bob.responses.inputItems.list(created.id), () => bob.responses.delete(created.id), () => alice.responses.retrieve('resp_never_made')]) {
      const error = await attempt().catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(NotFoundError);
      expect(error).toMatchObject({ status: 404, code: 'response_not_stored' });
    }
    expect(east.requests.length + west.requests.length).toBe(0);

    await alice.responses.delete(created.id);
    const gone = await alice.responses.retrieve(created.id).catch((caught: unknown) => caught);
    expect(gone).toBeInstanceOf(NotFoundError);
    expect((gone as NotFoundError).message).toContain(`Response with id '${created.id}' not found.`);
    // Retrieving as a stream is for background responses, which the relay does not make.
    const streamed = await request(`${first.url}/v1/responses/${created.id}?stream=true`, { headers: { authorization: `Bearer ${aliceKey}` } });
    expect(streamed.statusCode).toBe(400);
    expect(await streamed.body.json()).toMatchObject({ error: { code: 'unsupported_parameter', param: 'stream' } });
  });

  it("refuses another key's output items named by item_reference, and sends a key's own to the upstream that holds them", async () => {
    const { data: created, response } = await alice.responses.create({ model: 'gpt-x', input: 'Draft a plan.' }).withResponse();
    const holder = response.headers.get('x-relay-provider');
    const itemId = created.output[0]!.id!;
    east.reset();
    west.reset();
    const input = [{ type: 'item_reference', id: itemId }, { role: 'user', content: 'Go on.' }] as unknown as OpenAI.Responses.ResponseInput;
    const error = await bob.responses.create({ model: 'gpt-x', input }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BadRequestError);
    expect(error).toMatchObject({ status: 400, code: 'invalid_value', param: 'input[0]', message: expect.stringContaining(`Item with id '${itemId}' not found.`) });
    expect(east.requests.length + west.requests.length).toBe(0);
    for (let turn = 0; turn < 4; turn++) {
      const { response: own } = await aliceAtSecond.responses.create({ model: 'gpt-x', input }).withResponse();
      expect(own.headers.get('x-relay-provider')).toBe(holder);
    }
  });

  it('does not send a conversation to another account when the one that holds it fails: the failure is the answer', async () => {
    const { data: created } = await alice.responses.create({ model: 'gpt-west', input: 'Held in the west.' }).withResponse();
    west.next({ kind: 'status', status: 503 }, { kind: 'status', status: 503 }, { kind: 'status', status: 503 }, { kind: 'status', status: 503 });
    east.reset();
    // gpt-x has a deployment in the west: pinned there; its fallback has none there and is skipped.
    const params = { model: 'gpt-x', input: 'Go on.', previous_response_id: created.id, fallbacks: ['gpt-east'] } as unknown as OpenAI.Responses.ResponseCreateParamsNonStreaming;
    const error = await alice.responses.create(params).catch((caught: unknown) => caught);
    expect((error as { status?: number }).status).toBe(502);
    expect((error as { code?: string }).code).not.toBe('previous_response_not_found');
    expect(east.requests).toHaveLength(0);
  });

  it('refuses with a 503 a request naming stored ids while the database cannot say who got them, and writes a stream\'s records before its last event', async () => {
    const store = await openStore({ sqlitePath: join(sharedDirectory, 'relay.db') });
    const storedResponses = store.storedResponses;
    let down = false;
    store.storedResponses.find = async (ids, now) => {
      if (down) throw new Error('database unreachable');
      return storedResponses.find.call(storedResponses, ids, now);
    };
    const put = storedResponses.put.bind(storedResponses);
    // A slow database: the record of a stream takes longer to write than the stream to end.
    store.storedResponses.put = async (records) => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      return put(records);
    };
    const slow = await startRelay({}, sharedDirectory, { store });
    relays.push(slow);
    const client = new OpenAI({ apiKey: aliceKey, baseURL: slow.baseURL, maxRetries: 0 });
    for (let round = 0; round < 3; round++) {
      const { data: stream, response } = await client.responses.create({ model: 'gpt-x', input: `Round ${round}.`, stream: true }).withResponse();
      const holder = response.headers.get('x-relay-provider');
      for await (const event of stream) {
        if (event.type !== 'response.completed') continue;
        // An application that sends its next turn as soon as the response is complete.
        const { response: next } = await aliceAtSecond.responses.create({ model: 'gpt-x', input: 'Next.', previous_response_id: event.response.id }).withResponse();
        expect(next.headers.get('x-relay-provider')).toBe(holder);
      }
    }
    // The relay's own translated answer, referred to by item: resolved without asking who got stored responses.
    const translated = await client.responses.create({ model: 'llama', input: 'Translated.' });
    down = true;
    const followUp = await client.responses.create({ model: 'llama', input: [{ type: 'item_reference', id: translated.output[0]!.id! }, { role: 'user', content: 'And?' }] as unknown as OpenAI.Responses.ResponseInput });
    expect(followUp.status).toBe('completed');
    const error = await client.responses.create({ model: 'gpt-x', input: 'Go on.', previous_response_id: 'resp_east_1' }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ status: 503, code: 'stored_responses_unavailable' });
    // A request that names nothing stored still goes through.
    expect((await client.responses.create({ model: 'gpt-x', input: 'Fresh.' })).output_text).toBe('echo: Fresh.');
  });

  it("counts fetching, listing, deleting and cancelling a stored response in the key's requests per minute", async () => {
    const created = await adminJson<{ key: string }>(first.url, '/admin/keys', 'POST', { name: 'carol', rpm: 5 });
    const carol = new OpenAI({ apiKey: created.key, baseURL: first.baseURL, maxRetries: 0 });
    const kept = await carol.responses.create({ model: 'gpt-east', input: 'Keep this.' });
    const { response } = await carol.responses.retrieve(kept.id).withResponse();
    expect(response.headers.get('x-ratelimit-limit-requests')).toBe('5');
    expect(response.headers.get('x-ratelimit-remaining-requests')).toBe('3');
    await carol.responses.inputItems.list(kept.id);
    // The mock keeps no response in progress: its cancel is answered 404, which counts all the same.
    expect(await carol.responses.cancel(kept.id).catch((caught: unknown) => caught)).toBeInstanceOf(NotFoundError);
    await carol.responses.delete(kept.id);
    east.reset();
    const refused = await carol.responses.retrieve(kept.id).catch((caught: unknown) => caught);
    expect(refused).toBeInstanceOf(RateLimitError);
    expect(refused).toMatchObject({ status: 429, code: 'rate_limit_exceeded' });
    expect(east.requests).toHaveLength(0);
  });

  it('stops the upstream call of a stored-response route when the client leaves', async () => {
    const kept = await alice.responses.create({ model: 'gpt-east', input: 'Keep this too.' });
    for (const leave of [
      (signal: AbortSignal) => alice.responses.retrieve(kept.id, {}, { signal }),
      (signal: AbortSignal) => alice.responses.delete(kept.id, { signal }),
    ]) {
      east.reset();
      east.next({ kind: 'hang' });
      const controller = new AbortController();
      const leaving = leave(controller.signal).catch((caught: unknown) => caught);
      await expect.poll(() => east.requests.length).toBe(1);
      controller.abort();
      expect(await leaving).toBeInstanceOf(APIUserAbortError);
      await expect.poll(() => east.requests[0]!.aborted, { timeout: 5_000 }).toBe(true);
    }
    await expect.poll(() => first.logs.filter((line) => line.msg === 'request' && line.status === 499 && String(line.path).startsWith('/v1/responses/')).length).toBe(2);
    expect(first.rawLogs()).not.toContain('unhandled error');
  });

  it('records nothing for a response that is not stored, and leaves ids it never saw to the upstream', async () => {
    const unstored = await alice.responses.create({ model: 'gpt-x', input: 'Off the record.', store: false });
    const unknown = 'resp_made_elsewhere';
    for (const previous of [unstored.id, unknown]) {
      const answer = await bob.responses.create({ model: 'gpt-x', input: 'Go on.', previous_response_id: previous });
      expect(answer.previous_response_id).toBe(previous);
    }
    const sent = [...east.requests, ...west.requests].map((received) => received.body.previous_response_id).filter(Boolean);
    expect(sent.sort()).toEqual([unstored.id, unknown].sort());
  });
});

describe('a client that leaves while /v1/responses reads its stored responses', () => {
  const upstream = new MockOpenAIUpstream();
  let relay: StartedRelay;
  /** Opened by the test: the database answers the lookup only then (a slow Postgres). */
  let answer: () => void = () => {};
  let lookupStarted: () => void = () => {};
  const started = new Promise<void>((resolve) => (lookupStarted = resolve));

  beforeAll(async () => {
    await upstream.start();
    const store = new MemoryRelayStore();
    const find = store.storedResponses.find.bind(store.storedResponses);
    store.storedResponses.find = async (...args) => {
      lookupStarted();
      await new Promise<void>((resolve) => (answer = resolve));
      return find(...args);
    };
    relay = await startRelay({ OPENAI_API_KEY: 'sk-openai-upstream-0123456789', OPENAI_BASE_URL: upstream.url }, undefined, { store });
  });
  afterAll(async () => {
    await relay.close();
    await upstream.stop();
  });

  it('sends nothing upstream and holds no parallel slot or budget once the lookup answers', async () => {
    const created = await adminJson<{ key: string; id: string }>(relay.url, '/admin/keys', 'POST', { name: 'one-at-a-time', max_parallel: 1, budget: { amount: 1, currency: 'USD', period: 'total' } });
    const leaving = new AbortController();
    const client = new OpenAI({ apiKey: created.key, baseURL: `${relay.url}/v1`, maxRetries: 0 });
    const left = client.responses.create({ model: 'gpt-4.1', input: 'Hello.', previous_response_id: 'resp_earlier_1', max_output_tokens: 20 }, { signal: leaving.signal }).catch((error: unknown) => error);
    await started;
    leaving.abort();
    expect(await left).toBeInstanceOf(APIUserAbortError);
    // The relay saw the client leave (its access line) before the database answered.
    await expect.poll(() => relay.logs.some((line) => line.status === 499)).toBe(true);
    answer();
    // The key's one parallel slot is free: its next request is answered.
    const next = await client.responses.create({ model: 'gpt-4.1', input: 'Hello again.', max_output_tokens: 20 });
    expect(next.status).toBe('completed');
    expect(upstream.requests).toHaveLength(1);
    expect(JSON.stringify(upstream.requests[0]?.body)).toContain('Hello again.');
  });
});
