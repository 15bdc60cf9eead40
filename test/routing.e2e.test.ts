import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI, { APIError } from 'openai';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load-config.js';
import type { Behaviour } from './support/mock-openai-upstream.js';
import { masterKey } from './support/start-relay.js';
import { useTwoUpstreams } from './support/two-upstreams.js';

const twoUpstreams = useTwoUpstreams('relay-routing-');
const { upstreamA, upstreamB, startWith } = twoUpstreams;

const always = (behaviour: Behaviour, count = 500): Behaviour[] => Array.from({ length: count }, () => behaviour);
const serverError: Behaviour = { kind: 'status', status: 500, headers: { 'retry-after-ms': '1' } };
const badKey: Behaviour = { kind: 'status', status: 401, body: { error: { message: 'Incorrect API key provided.', type: 'invalid_request_error', param: null, code: 'invalid_api_key' } } };
const unsupportedLogprobs: Behaviour = {
  kind: 'status',
  status: 400,
  body: { error: { message: "Unsupported parameter: 'logprobs' is not supported with this model.", type: 'invalid_request_error', param: 'logprobs', code: 'unsupported_parameter' } },
};
/** A canary's state and analysis history, from the admin API. */
const canaryOf = async (model: string) =>
  (await (await request(`${twoUpstreams.relay()!.url}/admin/canaries/${model}`, { headers: { authorization: `Bearer ${masterKey}` } })).body.json()) as {
    phase: string;
    history: Array<{ verdict: string; action: string; requests: number; successRate: number | null }>;
  };
const ask = (client: OpenAI, extra: Record<string, unknown> = {}) =>
  client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'hi' }], ...extra } as never).withResponse();

describe('routing and resilience', () => {
  it('serves every request while one of two deployments fails hard, and ejects the failing one', async () => {
    const { client } = await startWith('models:\n  gpt-4.1:\n    targets: [{ provider: a }, { provider: b }]\n');
    upstreamA.next(...always(serverError));
    for (let index = 0; index < 40; index++) {
      const { data } = await ask(client);
      expect(data.choices[0]?.message.content).toBe('echo: hi');
    }
    // Once ejected (5 failures in a row), "a" gets no more traffic during its cooldown.
    expect(upstreamA.requests.length).toBeLessThanOrEqual(5);
    expect(upstreamB.requests).toHaveLength(40);
    const health = (await (await request(`${twoUpstreams.relay()!.url}/admin/deployments`, { headers: { authorization: `Bearer ${masterKey}` } })).body.json()) as {
      data: Array<{ id: string; state: string; ejections: number }>;
    };
    expect(health.data.find((deployment) => deployment.id === 'a/gpt-4.1')).toMatchObject({ state: 'open', ejections: 1 });
    expect(health.data.find((deployment) => deployment.id === 'b/gpt-4.1')).toMatchObject({ state: 'closed' });
  });

  it("falls back from gpt-4.1 to claude-sonnet-4 (the seed's chain) when retries are exhausted, and says so", async () => {
    const { client } = await startWith(
      'models:\n  gpt-4.1: { targets: [{ provider: a }] }\n  claude-sonnet-4: { targets: [{ provider: b }] }\nfallbacks:\n  gpt-4.1: [claude-sonnet-4]\n',
    );
    upstreamA.next(...always(serverError, 4));
    const { data, response } = await ask(client);
    expect(data.choices[0]?.message.content).toBe('echo: hi');
    expect(upstreamA.requests).toHaveLength(4); // one attempt and MAX_RETRIES=3 retries
    expect(upstreamB.requests[0]?.body.model).toBe('claude-sonnet-4');
    expect(response.headers.get('x-relay-model')).toBe('claude-sonnet-4');
    expect(response.headers.get('x-relay-provider')).toBe('b');
    expect(response.headers.get('x-relay-attempts')).toBe('5');
    expect(response.headers.get('x-relay-fallback')).toBe('gpt-4.1->claude-sonnet-4');
  });

  it("takes per-request fallbacks from the body and never sends that field upstream", async () => {
    const { client } = await startWith('models:\n  gpt-4.1: { targets: [{ provider: a }] }\n  backup-model: { targets: [{ provider: b }] }\n', { MAX_RETRIES: '0' });
    upstreamA.next(serverError);
    const { response } = await ask(client, { fallbacks: ['backup-model'] });
    expect(response.headers.get('x-relay-model')).toBe('backup-model');
    expect(upstreamA.requests[0]?.body).not.toHaveProperty('fallbacks');
    expect(upstreamB.requests[0]?.body).not.toHaveProperty('fallbacks');
  });

  it('falls back to a larger-context model on a context-length error, without retrying', async () => {
    const { client } = await startWith(
      'models:\n  gpt-4.1: { targets: [{ provider: a }] }\n  gpt-4.1-long: { targets: [{ provider: b }] }\ncontextFallbacks:\n  gpt-4.1: [gpt-4.1-long]\n',
    );
    upstreamA.next({
      kind: 'status',
      status: 400,
      body: { error: { message: "This model's maximum context length is 8192 tokens.", type: 'invalid_request_error', param: 'messages', code: 'context_length_exceeded' } },
    });
    const { response } = await ask(client);
    expect(response.headers.get('x-relay-model')).toBe('gpt-4.1-long');
    expect(upstreamA.requests).toHaveLength(1);
  });

  it('moves to the other deployment at once on a 429, and fails fast when retry-after does not fit the deadline', async () => {
    const { client } = await startWith('models:\n  gpt-4.1: { targets: [{ provider: a }, { provider: b }] }\n  solo: { targets: [{ provider: a }] }\nupstream:\n  deadlineMs: 2000\n');
    upstreamA.next({ kind: 'status', status: 429, headers: { 'retry-after': '30' }, body: { error: { message: 'rate limited', type: 'requests', code: null } } });
    // Whichever deployment the weighted pick tries first, the answer comes at once.
    const started = Date.now();
    await ask(client);
    expect(Date.now() - started).toBeLessThan(1000);

    upstreamA.reset();
    upstreamA.next(...always({ kind: 'status', status: 429, headers: { 'retry-after': '30' }, body: { error: { message: 'rate limited', type: 'requests', code: null } } }, 5));
    const soloStarted = Date.now();
    const error = (await client.chat.completions.create({ model: 'solo', messages: [{ role: 'user', content: 'x' }] }).catch((caught: unknown) => caught)) as APIError;
    expect(error.status).toBe(429);
    expect(error.code).toBe('upstream_rate_limited');
    expect(Date.now() - soloStarted).toBeLessThan(1500);
  });

  it("falls back when the upstream refuses the relay's key, and answers 502 when nothing is left", async () => {
    const { client } = await startWith('models:\n  gpt-4.1: { targets: [{ provider: a }, { provider: b }] }\n');
    upstreamA.next({ kind: 'status', status: 401, body: { error: { message: 'bad key', type: 'invalid_request_error', code: 'invalid_api_key' } } });
    upstreamB.next({ kind: 'status', status: 401, body: { error: { message: 'bad key', type: 'invalid_request_error', code: 'invalid_api_key' } } });
    const error = (await ask(client).catch((caught: unknown) => caught)) as APIError;
    expect(error.status).toBe(502);
    expect(error.code).toBe('upstream_auth_failed');
    expect(upstreamA.requests.length + upstreamB.requests.length).toBe(2);
  });

  it("retries a healthy deployment's failure on it, not on a deployment ejected for a refused key, a canary's stable side included", async () => {
    const cases = [
      { yaml: 'models:\n  gpt-4.1:\n    groups:\n      - targets: [{ provider: a }]\n      - targets: [{ provider: b }]\n', refusing: upstreamA, healthy: upstreamB, served: 'b' },
      { yaml: 'models:\n  gpt-4.1:\n    targets: [{ provider: a }]\n    canary:\n      targets: [{ provider: b }]\n      initialWeight: 100\n', refusing: upstreamB, healthy: upstreamA, served: 'a' },
    ];
    for (const { yaml, refusing, healthy, served } of cases) {
      await twoUpstreams.relay()?.close();
      upstreamA.reset();
      upstreamB.reset();
      const { client } = await startWith(yaml);
      refusing.next(...always(badKey, 10));
      // Its key refused, one deployment is ejected for minutes, and the other answers.
      expect((await ask(client)).response.headers.get('x-relay-provider')).toBe(served);
      // The other's one failure is retried there, not sent to the deployment that refused the key.
      healthy.next(serverError);
      const { data, response } = await ask(client);
      expect(data.choices[0]?.message.content).toBe('echo: hi');
      expect(response.headers.get('x-relay-provider')).toBe(served);
      expect(response.headers.get('x-relay-attempts')).toBe('2');
      expect(refusing.requests).toHaveLength(1);
    }
  });

  it('never retries after the first byte: a stream cut mid-way ends with one error event', async () => {
    const { client } = await startWith('models:\n  gpt-4.1: { targets: [{ provider: a }, { provider: b }] }\n');
    upstreamA.next({ kind: 'stream', chunks: 5, cutAfter: 2 });
    upstreamB.next({ kind: 'stream', chunks: 5, cutAfter: 2 });
    const stream = await client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'x' }], stream: true });
    let text = '';
    const error = await (async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    })().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(APIError);
    expect(text).toBe('word0 word1 ');
    expect(upstreamA.requests.length + upstreamB.requests.length).toBe(1);
  });

  it('retries a stream whose upstream failed before its first byte', async () => {
    const { client } = await startWith('models:\n  gpt-4.1: { targets: [{ provider: a }] }\n');
    upstreamA.next({ kind: 'reset' });
    const stream = await client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'x' }], stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('word0 word1 word2 word3 word4 ');
    expect(upstreamA.requests).toHaveLength(2);
  });

  it('promotes a healthy canary step by step, visible in the admin API', async () => {
    const { client } = await startWith(
      'models:\n  gpt-4.1:\n    targets: [{ provider: a }]\n    canary:\n      targets: [{ provider: b, apiKey: canary-own-secret-0123456789 }]\n      initialWeight: 20\n      stepWeight: 40\n      maxWeight: 60\n      intervalMs: 200\n      minRequests: 3\n',
    );
    const admin = async (path: string, method = 'GET') =>
      (await (await request(`${twoUpstreams.relay()!.url}${path}`, { method, headers: { authorization: `Bearer ${masterKey}` } })).body.json()) as Record<string, unknown>;
    const deadline = Date.now() + 8000;
    let user = 0;
    while (Date.now() < deadline) {
      await Promise.all(Array.from({ length: 10 }, () => ask(client, { user: `end-user-${user++}` })));
      if ((await admin('/admin/canaries/gpt-4.1')).phase === 'promoted') break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const canary = (await admin('/admin/canaries/gpt-4.1')) as { phase: string; weight: number; history: Array<{ action: string; weight: number }> };
    // A deployment's own upstream key never leaves the relay.
    expect(JSON.stringify(await admin('/admin/canaries'))).not.toContain('canary-own-secret');
    expect(JSON.stringify(canary)).not.toContain('canary-own-secret');
    expect(upstreamB.requests[0]?.headers.authorization).toBe('Bearer canary-own-secret-0123456789');
    expect(canary.phase).toBe('promoted');
    const moves = canary.history.filter((check) => check.action !== 'hold');
    expect(moves.map((check) => [check.action, check.weight])).toEqual([
      ['step', 60],
      ['promote', 100],
    ]);
    // Promoted: all traffic goes to the candidate.
    const before = upstreamA.requests.length;
    await ask(client, { user: 'after-promotion' });
    expect(upstreamA.requests.length).toBe(before);
    expect((await admin('/admin/canaries/gpt-4.1/rollback', 'POST')).phase).toBe('rolled_back');
    await ask(client, { user: 'after-rollback' });
    expect(upstreamA.requests.length).toBe(before + 1);
  });

  it('rolls a failing canary back by itself, while clients see no errors', async () => {
    const { client } = await startWith(
      'models:\n  gpt-4.1:\n    targets: [{ provider: a }]\n    canary:\n      targets: [{ provider: b }]\n      initialWeight: 50\n      intervalMs: 200\n      minRequests: 2\n      threshold: 2\n',
    );
    upstreamB.next(...always(serverError));
    const deadline = Date.now() + 8000;
    let user = 0;
    let phase = '';
    while (Date.now() < deadline && phase !== 'rolled_back') {
      const answers = await Promise.all(Array.from({ length: 10 }, () => ask(client, { user: `end-user-${user++}` })));
      for (const { data } of answers) expect(data.choices[0]?.message.content).toBe('echo: hi');
      phase = ((await (await request(`${twoUpstreams.relay()!.url}/admin/canaries/gpt-4.1`, { headers: { authorization: `Bearer ${masterKey}` } })).body.json()) as { phase: string }).phase;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(phase).toBe('rolled_back');
    const candidateRequests = upstreamB.requests.length;
    await ask(client, { user: 'after-rollback' });
    expect(upstreamB.requests.length).toBe(candidateRequests);
  });

  it('keeps the retries of a request that left a failing candidate on the stable side', async () => {
    const { client } = await startWith('models:\n  gpt-4.1:\n    targets: [{ provider: a }]\n    canary:\n      targets: [{ provider: b }]\n      initialWeight: 100\n', { MAX_RETRIES: '2' });
    upstreamB.next(...always(serverError));
    upstreamA.next(serverError);
    const { data, response } = await ask(client);
    expect(data.choices[0]?.message.content).toBe('echo: hi');
    expect(response.headers.get('x-relay-provider')).toBe('a');
    expect(upstreamB.requests).toHaveLength(1);
    expect(upstreamA.requests).toHaveLength(2);
  });

  it("holds neither a candidate's 429 nor the requests of its retry-after against it", async () => {
    const { client } = await startWith(
      'models:\n  gpt-4.1:\n    targets: [{ provider: a }]\n    canary:\n      targets: [{ provider: b }]\n      initialWeight: 100\n      maxWeight: 100\n      intervalMs: 200\n      minRequests: 2\n      threshold: 1\n',
    );
    upstreamB.next({ kind: 'status', status: 429, headers: { 'retry-after': '30' }, body: { error: { message: 'Rate limit reached for requests', type: 'requests', param: null, code: 'rate_limit_exceeded' } } });
    expect((await ask(client)).response.headers.get('x-relay-provider')).toBe('a');
    // Cooled for 30 s, the candidate is skipped: every request of several analysis intervals is the stable side's.
    const deadline = Date.now() + 8000;
    let canary = await canaryOf('gpt-4.1');
    while (Date.now() < deadline && canary.phase === 'progressing' && canary.history.length < 3) {
      const answers = await Promise.all(Array.from({ length: 5 }, () => ask(client)));
      for (const { data, response } of answers) {
        expect(data.choices[0]?.message.content).toBe('echo: hi');
        expect(response.headers.get('x-relay-provider')).toBe('a');
      }
      canary = await canaryOf('gpt-4.1');
    }
    expect(canary.phase).toBe('progressing');
    expect(canary.history.length).toBeGreaterThanOrEqual(3);
    expect(canary.history.filter((check) => check.requests > 0)).toEqual([]);
    expect(upstreamB.requests).toHaveLength(1);
  });

  it('rolls back a canary whose streams break after their first chunk, which no retry can hide from clients', async () => {
    const { client } = await startWith(
      'models:\n  gpt-4.1:\n    targets: [{ provider: a }]\n    canary:\n      targets: [{ provider: b }]\n      initialWeight: 100\n      maxWeight: 100\n      intervalMs: 200\n      minRequests: 2\n      threshold: 1\n',
    );
    upstreamB.next(...always({ kind: 'stream', chunks: 5, cutAfter: 2 }));
    const deadline = Date.now() + 8000;
    let phase = 'progressing';
    let broken = 0;
    while (Date.now() < deadline && phase === 'progressing') {
      const stream = await client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'x' }], stream: true });
      await (async () => {
        for await (const _chunk of stream);
      })().catch(() => broken++);
      phase = ((await (await request(`${twoUpstreams.relay()!.url}/admin/canaries/gpt-4.1`, { headers: { authorization: `Bearer ${masterKey}` } })).body.json()) as { phase: string }).phase;
    }
    expect(broken).toBeGreaterThanOrEqual(2);
    expect(phase).toBe('rolled_back');
    const canary = (await (await request(`${twoUpstreams.relay()!.url}/admin/canaries/gpt-4.1`, { headers: { authorization: `Bearer ${masterKey}` } })).body.json()) as {
      history: Array<{ verdict: string; successRate: number | null }>;
    };
    expect(canary.history.find((check) => check.verdict === 'fail')?.successRate).toBe(0);
  });

  it('serves clients from the stable side while the candidate does not know the model it is sent, and rolls that canary back', async () => {
    const { client } = await startWith(
      'models:\n  gpt-4.1:\n    targets: [{ provider: a }]\n    canary:\n      targets: [{ provider: b, model: hs-gpt-4.1 }]\n      initialWeight: 100\n      maxWeight: 100\n      intervalMs: 200\n      minRequests: 2\n      threshold: 1\n',
    );
    upstreamB.next(...always({ kind: 'status', status: 404, body: { error: { message: 'The model `hs-gpt-4.1` does not exist', type: 'invalid_request_error', param: null, code: 'model_not_found' } } }));
    const deadline = Date.now() + 8000;
    let phase = 'progressing';
    let user = 0;
    while (Date.now() < deadline && phase === 'progressing') {
      const { data, response } = await ask(client, { user: `end-user-${user++}` });
      expect(data.choices[0]?.message.content).toBe('echo: hi');
      expect(response.headers.get('x-relay-provider')).toBe('a');
      phase = ((await (await request(`${twoUpstreams.relay()!.url}/admin/canaries/gpt-4.1`, { headers: { authorization: `Bearer ${masterKey}` } })).body.json()) as { phase: string }).phase;
    }
    expect(upstreamB.requests.length).toBeGreaterThanOrEqual(2);
    expect(phase).toBe('rolled_back');
  });

  it('serves clients from the stable side while the candidate refuses a parameter the stable side takes, and rolls that canary back', async () => {
    const { client } = await startWith(
      'models:\n  gpt-4.1:\n    targets: [{ provider: a }]\n    canary:\n      targets: [{ provider: b }]\n      initialWeight: 100\n      maxWeight: 100\n      intervalMs: 200\n      minRequests: 2\n      threshold: 1\n',
      { MAX_RETRIES: '0' },
    );
    upstreamB.next(...always(unsupportedLogprobs));
    const deadline = Date.now() + 8000;
    let phase = 'progressing';
    let user = 0;
    while (Date.now() < deadline && phase === 'progressing') {
      const streamed = user % 2 === 1;
      if (streamed) {
        // A stream's refusal comes before its first byte: the stable side's stream is the answer, judged when it ends.
        const stream = await client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'x' }], stream: true, logprobs: true, user: `end-user-${user++}` });
        let text = '';
        for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
        expect(text).toBe('word0 word1 word2 word3 word4 ');
      } else {
        const { data, response } = await ask(client, { logprobs: true, user: `end-user-${user++}` });
        expect(data.choices[0]?.message.content).toBe('echo: hi');
        expect(response.headers.get('x-relay-provider')).toBe('a');
        // The first request precedes any check: the candidate was tried, and leaving it spent no retry.
        if (user === 1) expect(response.headers.get('x-relay-attempts')).toBe('2');
      }
      phase = (await canaryOf('gpt-4.1')).phase;
    }
    expect(phase).toBe('rolled_back');
    expect(upstreamB.requests.length).toBeGreaterThanOrEqual(2);
    expect(upstreamA.requests).toHaveLength(user);
    const failed = (await canaryOf('gpt-4.1')).history.find((check) => check.verdict === 'fail');
    expect(failed).toMatchObject({ successRate: 0, action: 'rollback' });
    expect(failed!.requests).toBeGreaterThanOrEqual(2);
  });

  it("gives the client the stable side's refusal of a request both sides refuse, and does not count it against the candidate", async () => {
    const { client } = await startWith(
      'models:\n  gpt-4.1:\n    targets: [{ provider: a }]\n    canary:\n      targets: [{ provider: b }]\n      initialWeight: 100\n      maxWeight: 100\n      intervalMs: 200\n      minRequests: 2\n      threshold: 1\n',
    );
    const refusedBy = (side: string): Behaviour => ({
      kind: 'status',
      status: 400,
      body: { error: { message: `Invalid 'messages[0].role' (${side})`, type: 'invalid_request_error', param: 'messages', code: 'invalid_value' } },
    });
    upstreamB.next(...always(refusedBy('candidate')));
    upstreamA.next(...always(refusedBy('stable')));
    const deadline = Date.now() + 8000;
    let phase = 'progressing';
    let user = 0;
    while (Date.now() < deadline && phase === 'progressing') {
      const error = (await ask(client, { user: `end-user-${user++}` }).catch((caught: unknown) => caught)) as APIError;
      expect(error.status).toBe(400);
      expect(error.message).toContain('(stable)');
      expect(error.code).toBe('invalid_value');
      phase = (await canaryOf('gpt-4.1')).phase;
    }
    // The candidate refused only what the stable side refuses too: a healthy canary, promoted.
    expect(phase).toBe('promoted');
    expect(upstreamA.requests).toHaveLength(upstreamB.requests.length);
    expect((await canaryOf('gpt-4.1')).history.find((check) => check.action === 'promote')).toMatchObject({ verdict: 'pass', successRate: 100 });
  });

  it("answers a prompt too long for the candidate from the stable side of the same model, before the model's context fallback", async () => {
    const { client } = await startWith(
      'models:\n  gpt-4.1:\n    targets: [{ provider: a }]\n    canary:\n      targets: [{ provider: b }]\n      initialWeight: 100\n  gpt-4.1-long: { targets: [{ provider: b }] }\ncontextFallbacks:\n  gpt-4.1: [gpt-4.1-long]\n',
      { MAX_RETRIES: '0' },
    );
    upstreamB.next({
      kind: 'status',
      status: 400,
      body: { error: { message: "This model's maximum context length is 8192 tokens.", type: 'invalid_request_error', param: 'messages', code: 'context_length_exceeded' } },
    });
    const { data, response } = await ask(client);
    expect(data.choices[0]?.message.content).toBe('echo: hi');
    expect(response.headers.get('x-relay-provider')).toBe('a');
    expect(response.headers.get('x-relay-model')).toBe('gpt-4.1');
    expect(response.headers.get('x-relay-fallback')).toBeNull();
    expect(upstreamB.requests).toHaveLength(1);
    expect(upstreamA.requests[0]?.body.model).toBe('gpt-4.1');
  });

  it("sends a client's refused request upstream once where no canary candidate refused it", async () => {
    const { client } = await startWith(
      'models:\n  gpt-4.1: { targets: [{ provider: a }, { provider: b }] }\n  gpt-4.2:\n    targets: [{ provider: a }]\n    canary:\n      targets: [{ provider: b }]\n      initialWeight: 0\n',
    );
    upstreamA.next(...always(unsupportedLogprobs, 10));
    upstreamB.next(...always(unsupportedLogprobs, 10));
    const refused = (await ask(client, { logprobs: true }).catch((caught: unknown) => caught)) as APIError;
    expect(refused.status).toBe(400);
    expect(refused.code).toBe('unsupported_parameter');
    expect(upstreamA.requests.length + upstreamB.requests.length).toBe(1);

    // On a canary's stable side, as without one.
    const stableSide = (await ask(client, { model: 'gpt-4.2', logprobs: true }).catch((caught: unknown) => caught)) as APIError;
    expect(stableSide.status).toBe(400);
    expect(upstreamA.requests.length + upstreamB.requests.length).toBe(2);
    expect(upstreamA.requests.at(-1)?.body.model).toBe('gpt-4.2');
  });

  it('keeps the decision that rolled a canary back as its last check, however many intervals pass', async () => {
    await startWith('models:\n  gpt-4.1:\n    targets: [{ provider: a }]\n    canary:\n      targets: [{ provider: b }]\n      intervalMs: 100\n');
    const canary = async (path = '', method = 'GET') =>
      (await (await request(`${twoUpstreams.relay()!.url}/admin/canaries/gpt-4.1${path}`, { method, headers: { authorization: `Bearer ${masterKey}` } })).body.json()) as {
        phase: string;
        version: number;
        history: Array<{ action: string }>;
      };
    const rolledBack = await canary('/rollback', 'POST');
    expect(rolledBack.phase).toBe('rolled_back');
    // Several analysis intervals pass.
    await new Promise((resolve) => setTimeout(resolve, 800));
    const later = await canary();
    expect(later.history.at(-1)?.action).toBe('rollback');
    expect(later.history).toHaveLength(rolledBack.history.length);
    expect(later.version).toBe(rolledBack.version);
  });

  it('answers from the stable side when the candidate fails, even with MAX_RETRIES=0', async () => {
    const { client } = await startWith('models:\n  gpt-4.1:\n    targets: [{ provider: a }]\n    canary:\n      targets: [{ provider: b }]\n      initialWeight: 100\n', { MAX_RETRIES: '0' });
    upstreamB.next(...always(serverError, 3));
    for (let index = 0; index < 3; index++) {
      const { data, response } = await ask(client);
      expect(data.choices[0]?.message.content).toBe('echo: hi');
      expect(response.headers.get('x-relay-provider')).toBe('a');
      expect(response.headers.get('x-relay-attempts')).toBe('2');
    }
    // The request keeps its own retry: with MAX_RETRIES=1, a failure on the stable side after the candidate's is retried.
    await twoUpstreams.relay()!.close();
    upstreamA.reset();
    upstreamB.reset();
    const retrying = await startWith('models:\n  gpt-4.1:\n    targets: [{ provider: a }]\n    canary:\n      targets: [{ provider: b }]\n      initialWeight: 100\n', { MAX_RETRIES: '1' });
    upstreamB.next(serverError);
    upstreamA.next(serverError);
    const { data, response } = await ask(retrying.client);
    expect(data.choices[0]?.message.content).toBe('echo: hi');
    expect(response.headers.get('x-relay-attempts')).toBe('3');
  });

  it("keeps a promoted canary promoted when its candidate's own key is rotated", async () => {
    const withKey = (key: string) => `models:\n  gpt-4.1:\n    targets: [{ provider: a }]\n    canary:\n      targets: [{ provider: b, apiKey: "${key}" }]\n`;
    const { client, directory } = await startWith(withKey('hs-key-one-0123456789'));
    const canary = async (path = '', method = 'GET') =>
      (await (await request(`${twoUpstreams.relay()!.url}/admin/canaries/gpt-4.1${path}`, { method, headers: { authorization: `Bearer ${masterKey}` } })).body.json()) as { phase: string; weight: number };
    expect(await canary('/promote', 'POST')).toMatchObject({ phase: 'promoted', weight: 100 });
    writeFileSync(
      join(directory, 'relay.yaml'),
      `providers:\n  a: { type: openai, baseUrl: "${upstreamA.url}", apiKey: key-a-0123456789 }\n  b: { type: openai, baseUrl: "${upstreamB.url}", apiKey: key-b-0123456789 }\n${withKey('hs-key-two-0123456789')}`,
    );
    twoUpstreams.relay()!.server.reload(loadConfig({ environment: { RELAY_MASTER_KEY: masterKey }, cwd: directory }));
    expect(await canary()).toMatchObject({ phase: 'promoted', weight: 100 });
    const { response } = await ask(client);
    expect(response.headers.get('x-relay-provider')).toMatch(/^b#/);
    expect(upstreamB.requests.at(-1)?.headers.authorization).toBe('Bearer hs-key-two-0123456789');
    expect(upstreamA.requests).toHaveLength(0);
  });

  it('splits the requests of one key without a user between the sides by weight, each request on its own', async () => {
    const { client } = await startWith('models:\n  gpt-4.1:\n    targets: [{ provider: a }]\n    canary:\n      targets: [{ provider: b }]\n      initialWeight: 20\n');
    let candidate = 0;
    const requests = 400;
    for (let index = 0; index < requests; index += 20) {
      const answers = await Promise.all(Array.from({ length: 20 }, () => ask(client)));
      candidate += answers.filter(({ response }) => response.headers.get('x-relay-provider') === 'b').length;
    }
    // 20 % of 400 is 80; the bounds are five standard deviations (8) either side.
    expect(candidate).toBeGreaterThan(40);
    expect(candidate).toBeLessThan(120);
  });

  it('splits embeddings and legacy completions of one key between the canary\'s sides by their user field, as chat', async () => {
    const { client } = await startWith('models:\n  gpt-4.1:\n    targets: [{ provider: a }]\n    canary:\n      targets: [{ provider: b }]\n      initialWeight: 50\n');
    const sides = { completions: new Set<string | null>(), embeddings: new Set<string | null>() };
    for (let user = 0; user < 20; user++) {
      const completion = await client.completions.create({ model: 'gpt-4.1', prompt: 'hi', user: `end-user-${user}` }).withResponse();
      sides.completions.add(completion.response.headers.get('x-relay-provider'));
      const embedding = await client.embeddings.create({ model: 'gpt-4.1', input: 'hi', user: `end-user-${user}` }).withResponse();
      sides.embeddings.add(embedding.response.headers.get('x-relay-provider'));
    }
    expect([...sides.completions].sort()).toEqual(['a', 'b']);
    expect([...sides.embeddings].sort()).toEqual(['a', 'b']);
  });

  it('mirrors shadow traffic without affecting the client, and records both sides', async () => {
    const { client } = await startWith('models:\n  gpt-4.1:\n    targets: [{ provider: a }]\n    shadow: { targets: [{ provider: b }], percent: 100 }\n');
    upstreamB.next(...always({ kind: 'status', status: 503 }, 5));
    for (let index = 0; index < 5; index++) {
      const { response } = await ask(client);
      expect(response.headers.get('x-relay-provider')).toBe('a');
    }
    await expect.poll(() => upstreamB.requests.length).toBe(5);
    await expect
      .poll(async () => ((await (await request(`${twoUpstreams.relay()!.url}/admin/shadows`, { headers: { authorization: `Bearer ${masterKey}` } })).body.json()) as { data: Array<{ shadow: { requests: number; errors: number }; primary: { requests: number } }> }).data[0])
      .toMatchObject({ primary: { requests: 5 }, shadow: { requests: 5, errors: 5 } });
  });

  it("sends a shadow the request's output limit in the field its model takes", async () => {
    const { client } = await startWith('models:\n  gpt-4.1:\n    targets: [{ provider: a }]\n    shadow: { targets: [{ provider: b, model: deepseek-flash }], percent: 100 }\n');
    await client.chat.completions.create({ model: 'gpt-4.1', max_completion_tokens: 50, messages: [{ role: 'user', content: 'hi' }] });
    await expect.poll(() => upstreamB.requests.length).toBe(1);
    // DeepSeek ignores max_completion_tokens: the shadow gets max_tokens, as a DeepSeek target of the route would.
    expect(upstreamB.requests[0]?.body).toMatchObject({ model: 'deepseek-flash', max_tokens: 50 });
    expect(upstreamB.requests[0]?.body).not.toHaveProperty('max_completion_tokens');
  });

  it('spreads load by weight across several keys of one provider', async () => {
    const { client } = await startWith('models:\n  gpt-4.1:\n    targets:\n      - { provider: a, apiKey: first-key-0123456789, weight: 3 }\n      - { provider: a, apiKey: second-key-0123456789, weight: 1 }\n');
    for (let index = 0; index < 80; index++) await ask(client);
    const keys = upstreamA.requests.map((received) => received.headers.authorization);
    const first = keys.filter((key) => key === 'Bearer first-key-0123456789').length;
    expect(first + keys.filter((key) => key === 'Bearer second-key-0123456789').length).toBe(80);
    expect(first).toBeGreaterThan(45);
    expect(first).toBeLessThan(75);
  });

  it('keeps counting the requests in flight on a deployment through a reload, and those of every route that shares it', async () => {
    const { client, directory } = await startWith(
      'models:\n  gpt-4.1:\n    strategy: least-inflight\n    targets: [{ provider: a }, { provider: b }]\n  gpt-4.1-solo: { targets: [{ provider: a, model: gpt-4.1 }] }\n',
    );
    const inflight = async () =>
      Object.fromEntries(
        ((await (await request(`${twoUpstreams.relay()!.url}/admin/deployments`, { headers: { authorization: `Bearer ${masterKey}` } })).body.json()) as { data: Array<{ id: string; inflight: number }> }).data.map(
          (deployment) => [deployment.id, deployment.inflight],
        ),
      );
    // Two streams on "a" through the other route, held after their first chunk while the configuration is reloaded.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const chunk = (content: string, finish: string | null) => ({ id: 'chatcmpl-held', object: 'chat.completion.chunk', created: 1, model: 'gpt-4.1', choices: [{ index: 0, delta: { content }, finish_reason: finish }] });
    upstreamA.next(...always({ kind: 'events', events: [chunk('Hel', null), held, chunk('lo', 'stop')] }, 2));
    const streams = await Promise.all(Array.from({ length: 2 }, () => client.chat.completions.create({ model: 'gpt-4.1-solo', messages: [{ role: 'user', content: 'x' }], stream: true })));
    twoUpstreams.relay()!.server.reload(loadConfig({ environment: { RELAY_MASTER_KEY: masterKey }, cwd: directory }));
    try {
      expect(await inflight()).toMatchObject({ 'a/gpt-4.1': 2, 'b/gpt-4.1': 0 });
      // least-inflight sees them: every request goes to "b".
      for (let index = 0; index < 8; index++) expect((await ask(client)).response.headers.get('x-relay-provider')).toBe('b');
    } finally {
      release();
    }
    for (const stream of streams) {
      let text = '';
      for await (const part of stream) text += part.choices[0]?.delta.content ?? '';
      expect(text).toBe('Hello');
    }
    await expect.poll(inflight).toMatchObject({ 'a/gpt-4.1': 0, 'b/gpt-4.1': 0 });
  });

  it('reloads the configuration without dropping a stream in flight', async () => {
    const { client, directory } = await startWith('models:\n  gpt-4.1: { targets: [{ provider: a }] }\n');
    upstreamA.next({ kind: 'stream', chunks: 10, delayMs: 30 });
    const stream = await client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'x' }], stream: true });
    writeFileSync(
      join(directory, 'relay.yaml'),
      `providers:\n  a: { type: openai, baseUrl: "${upstreamA.url}", apiKey: key-a-0123456789 }\n  b: { type: openai, baseUrl: "${upstreamB.url}", apiKey: key-b-0123456789 }\nmodels:\n  gpt-4.1: { targets: [{ provider: b }] }\n`,
    );
    twoUpstreams.relay()!.server.reload(loadConfig({ environment: { RELAY_MASTER_KEY: masterKey }, cwd: directory }));
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text.split(' ').filter(Boolean)).toHaveLength(10);
    const { response } = await ask(client);
    expect(response.headers.get('x-relay-provider')).toBe('b');
  });
});
