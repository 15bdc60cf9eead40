import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { masterKey, startRelay, type StartedRelay } from './support/start-relay.js';
import { threeVendors } from './support/three-vendors.js';

/**
 * Bodies that are JSON but not the shape the API defines — a null content part, tool calls that
 * are not a list, a tool without a name — must get a 400 that names the field, for every model,
 * whichever translation would read them: never a 500, and nothing sent upstream. Each case here
 * once reached a translation and failed inside it. The same holds the other way: an upstream's
 * chat answer of the wrong shape is the upstream's failure (a 502), not the translation's.
 */

const geminiKey = 'AIzaSy-malformed-requests-0a1b2c';
const models = ['gpt-4.1', 'claude-sonnet-4', 'gemini-2.5-flash'];

const chatCases: Array<[string, Record<string, unknown>]> = [
  ['a null content part', { messages: [{ role: 'user', content: [null] }] }],
  ['a null content part in a system message', { messages: [{ role: 'system', content: [null] }, { role: 'user', content: 'hi' }] }],
  ['tool calls that are not a list', { messages: [{ role: 'assistant', content: null, tool_calls: 5 }, { role: 'tool', tool_call_id: 'a', content: 'x' }] }],
  ['a tool call without its function', { messages: [{ role: 'assistant', content: null, tool_calls: [{ id: 'a', type: 'function', function: null }] }, { role: 'tool', tool_call_id: 'a', content: 'x' }] }],
  ['a tool call whose function has no name', { messages: [{ role: 'assistant', content: null, tool_calls: [{ id: 'a', type: 'function', function: {} }] }, { role: 'tool', tool_call_id: 'a', content: 'x' }] }],
  ['a null tool', { messages: [{ role: 'user', content: 'hi' }], tools: [null] }],
];

const messagesCases: Array<[string, Record<string, unknown>]> = [
  ['a null system block', { system: [null] }],
  ['a null tool', { tools: [null] }],
  ['a tool without a name', { tools: [{ description: 'nameless', input_schema: { type: 'object' } }] }],
  ['a null block in a tool result', { messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 'a', content: [null] }] }] }],
];

const responsesCases: Array<[string, Record<string, unknown>]> = [
  ['a null content part', { input: [{ role: 'user', content: [null] }] }],
  ['a null part in a function call output', { input: [{ type: 'function_call_output', call_id: 'c', output: [null] }] }],
];

describe('malformed requests get a 400 naming the field, for every model and API', () => {
  const vendors = threeVendors({ holysheep: 'sk-upstream-malformed-0011', anthropic: 'sk-ant-malformed-2233', gemini: geminiKey });
  const { holysheep: openai, anthropic, gemini } = vendors;
  let relay: StartedRelay;

  beforeAll(async () => {
    relay = await vendors.start();
  });
  afterAll(() => vendors.stop());

  async function send(path: string, body: Record<string, unknown>): Promise<{ status: number; error: { message?: string; param?: string | null } }> {
    const response = await request(`${relay.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${masterKey}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const parsed = (await response.body.json()) as { error: { message?: string; param?: string | null } };
    return { status: response.statusCode, error: parsed.error };
  }

  const upstreamRequests = () => openai.requests.length + anthropic.requests.length + gemini.requests.length;

  it("answers an upstream's malformed chat answer with a 502 on the translating routes, never a 500", async () => {
    // No retries: each malformed answer is the last one (with retries, the next attempt's good answer would be served).
    const once = await startRelay({ MAX_RETRIES: '0', HOLYSHEEP_API_KEY: 'sk-upstream-malformed-0011', HOLYSHEEP_BASE_URL: openai.url });
    const malformed = [
      { id: 'x', object: 'chat.completion', created: 1, model: 'gpt-4.1', choices: [{ index: 0, message: { role: 'assistant', content: null, tool_calls: [{ id: 'a', type: 'function', function: null }] }, finish_reason: 'tool_calls' }] },
      { id: 'x', object: 'chat.completion', created: 1, model: 'gpt-4.1', choices: [{ index: 0, message: { role: 'assistant', content: null, tool_calls: 5 }, finish_reason: 'tool_calls' }] },
      { id: 'x', object: 'chat.completion', created: 1, model: 'gpt-4.1', choices: [null] },
    ];
    for (const answer of malformed) {
      for (const [path, body] of [
        ['/v1/messages', { model: 'gpt-4.1', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }],
        ['/v1/responses', { model: 'gpt-4.1', input: 'hi' }],
      ] as const) {
        openai.next({ kind: 'status', status: 200, body: answer });
        const response = await request(`${once.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${masterKey}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
        const text = await response.body.text();
        expect({ path, status: response.statusCode }).toEqual({ path, status: 502 });
        expect(text).not.toContain('internal_error');
      }
    }
    await once.close();
  });

  for (const model of models) {
    for (const stream of [false, true]) {
      it(`POST /v1/chat/completions with ${model}${stream ? ', streamed' : ''}`, async () => {
        const before = upstreamRequests();
        for (const [name, fields] of chatCases) {
          const { status, error } = await send('/v1/chat/completions', { model, stream, messages: [{ role: 'user', content: 'hi' }], ...fields });
          expect({ name, status }).toEqual({ name, status: 400 });
          expect(error.param, name).toMatch(/^(messages|tools)/);
        }
        expect(upstreamRequests()).toBe(before);
      });

      it(`POST /v1/messages with ${model}${stream ? ', streamed' : ''}`, async () => {
        const before = upstreamRequests();
        for (const [name, fields] of messagesCases) {
          const { status, error } = await send('/v1/messages', { model, stream, max_tokens: 16, messages: [{ role: 'user', content: 'hi' }], ...fields });
          expect({ name, status }).toEqual({ name, status: 400 });
          expect(error.message, name).toMatch(/system|tools|messages/);
        }
        expect(upstreamRequests()).toBe(before);
      });

      it(`POST /v1/responses with ${model}${stream ? ', streamed' : ''}`, async () => {
        const before = upstreamRequests();
        for (const [name, fields] of responsesCases) {
          const { status, error } = await send('/v1/responses', { model, stream, ...fields });
          expect({ name, status }).toEqual({ name, status: 400 });
          expect(error.param, name).toMatch(/^input\[0\]/);
        }
        expect(upstreamRequests()).toBe(before);
      });
    }
  }

  it('says what a field that may take several forms could have been, or which part of it is wrong', async () => {
    const cases: Array<[string, Record<string, unknown>, string, string]> = [
      ['/v1/chat/completions', { model: 'gpt-4.1', messages: [{ role: 'user', content: 5 }] }, 'messages[0].content', "Invalid type for 'messages[0].content': expected string, null or array."],
      ['/v1/chat/completions', { model: 'gpt-4.1', messages: [{ role: 'user', content: 'hi' }], max_tokens: '5' }, 'max_tokens', "Invalid type for 'max_tokens': expected integer or null."],
      ['/v1/chat/completions', { model: 'gpt-4.1', messages: [{ role: 'user', content: 'hi' }], max_tokens: 0 }, 'max_tokens', "Invalid value for 'max_tokens': expected integer to be greater or equal to 1."],
      ['/v1/embeddings', { model: 'text-embedding-3-small', input: 5 }, 'input', "Invalid type for 'input': expected string or array."],
    ];
    const before = upstreamRequests();
    for (const [path, body, param, message] of cases) {
      const { status, error } = await send(path, body);
      expect({ path, status, param: error.param, message: error.message }).toEqual({ path, status: 400, param, message });
    }
    const response = await request(`${relay.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': masterKey, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude-sonnet-4', max_tokens: 16, messages: [{ role: 'robot', content: 'hi' }] }),
    });
    expect(response.statusCode).toBe(400);
    expect(((await response.body.json()) as { error: { message: string } }).error.message).toBe('Invalid value for \'messages[0].role\': expected "user" or "assistant".');
    expect(upstreamRequests()).toBe(before);
  });

  it('refuses a model name with a line break or another control character on every route that takes one, before any upstream call', async () => {
    // No real model name has one; a "*" glob must not be the way such a name reaches an upstream (or a price).
    const bodies: Array<[string, Record<string, unknown>, string]> = [];
    for (const name of ['gpt-4.1\n', 'gpt-4.1\r\nx', 'gpt\u0000-4.1', 'gpt-4.1\u007f', 'claude-sonnet-4\t']) {
      bodies.push(['/v1/chat/completions', { model: name, messages: [{ role: 'user', content: 'hi' }] }, 'model']);
      bodies.push(['/v1/chat/completions', { model: 'gpt-4.1', fallbacks: [name], messages: [{ role: 'user', content: 'hi' }] }, 'fallbacks[0]']);
      bodies.push(['/v1/completions', { model: name, prompt: 'hi' }, 'model']);
      bodies.push(['/v1/embeddings', { model: name, input: 'hi' }, 'model']);
      bodies.push(['/v1/moderations', { model: name, input: 'hi' }, 'model']);
      bodies.push(['/v1/responses', { model: name, input: 'hi' }, 'model']);
      bodies.push(['/v1/responses', { model: 'gpt-4.1', fallbacks: [name], input: 'hi' }, 'fallbacks[0]']);
      bodies.push(['/v1/messages', { model: name, max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }, 'model']);
      bodies.push(['/v1/messages', { model: 'claude-sonnet-4', fallbacks: [name], max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }, 'fallbacks[0]']);
      bodies.push(['/v1/messages/count_tokens', { model: name, messages: [{ role: 'user', content: 'hi' }] }, 'model']);
    }
    const before = upstreamRequests();
    for (const [path, body, param] of bodies) {
      const response = await request(`${relay.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${masterKey}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const parsed = (await response.body.json()) as { error?: { type: string; code?: string; message: string; param?: string } };
      const seen = { path, model: JSON.stringify(body.model), status: response.statusCode, type: parsed.error?.type };
      expect(seen).toEqual({ ...seen, status: 400, type: 'invalid_request_error' });
      expect(parsed.error?.message, path).toContain('control character');
      if (path !== '/v1/messages' && path !== '/v1/messages/count_tokens') expect({ path, code: parsed.error?.code, param: parsed.error?.param }).toEqual({ path, code: 'invalid_request', param });
    }
    expect(upstreamRequests()).toBe(before);
    // A name with other unusual but printable characters still goes through.
    const { status } = await send('/v1/chat/completions', { model: 'gpt-4.1', messages: [{ role: 'user', content: 'héllo\nworld' }] });
    expect(status).toBe(200);
  });

  it('answers a body nested thousands of levels deep with a 400 on every API, for every upstream, never a 500', async () => {
    // Sent as text: the nesting is what is tested, and JSON.stringify itself cannot make it.
    const deep = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
    const bodies: Array<[string, string]> = [];
    for (const model of models) {
      bodies.push(['/v1/chat/completions', `{"model":"${model}","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","default":${deep}}}}]}`]);
      bodies.push(['/v1/messages', `{"model":"${model}","max_tokens":16,"messages":[{"role":"user","content":"hi"}],"tools":[{"name":"f","input_schema":{"type":"object","default":${deep}}}]}`]);
      bodies.push(['/v1/responses', `{"model":"${model}","input":"hi","tools":[{"type":"function","name":"f","parameters":{"type":"object","default":${deep}}}]}`]);
    }
    bodies.push(['/v1/embeddings', `{"model":"text-embedding-3-small","input":"hi","extra":${deep}}`]);
    for (const [path, body] of bodies) {
      const response = await request(`${relay.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${masterKey}`, 'content-type': 'application/json' }, body });
      const text = await response.body.text();
      expect({ path, body: body.slice(0, 40), status: response.statusCode }).toEqual({ path, body: body.slice(0, 40), status: 400 });
      expect(text).toContain('nested too deeply');
    }
    expect(relay.rawLogs()).not.toContain('unhandled error');
  });
});
