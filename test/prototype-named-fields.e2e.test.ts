import OpenAI, { BadRequestError } from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { masterKey, type StartedRelay } from './support/start-relay.js';
import { threeVendors } from './support/three-vendors.js';

/**
 * A client may name a field of its body, or give a value, that is also the name of a property every
 * JavaScript object has (`constructor`, `toString`). The relay's tables of what it maps and why it
 * cannot (a reason per parameter, the stateful fields of the Responses API, Gemini's thinking
 * budgets) must know only their own entries, not what every object inherits.
 */
describe('fields and values named like the properties every object has', () => {
  const vendors = threeVendors({ holysheep: 'sk-upstream-holysheep-prototype-0123', anthropic: 'sk-ant-upstream-prototype-0123', gemini: 'AIzaSy-upstream-gemini-prototype-0123' });
  let relay: StartedRelay;
  let client: OpenAI;

  beforeAll(async () => {
    relay = await vendors.start();
    client = new OpenAI({ apiKey: masterKey, baseURL: relay.baseURL, maxRetries: 0 });
  });
  afterAll(() => vendors.stop());
  beforeEach(() => {
    vendors.anthropic.reset();
    vendors.gemini.reset();
  });

  it('refuses a chat field named `constructor` for Claude in strict mode with the reason any unknown field gets', async () => {
    const refused = (await client.chat.completions
      .create({ model: 'claude-sonnet-4', messages: [{ role: 'user', content: 'hi' }], constructor: 1 } as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming, { headers: { 'x-relay-strict': '1' } })
      .catch((caught: unknown) => caught)) as BadRequestError;
    expect(refused).toBeInstanceOf(BadRequestError);
    expect(refused.param).toBe('constructor');
    expect(refused.message).toContain(': the Messages API has no such parameter.');
    expect(refused.message).not.toContain('native code');
    expect(vendors.anthropic.requests).toHaveLength(0);
  });

  it('drops and names a Responses field named `constructor` that the translation to chat cannot carry', async () => {
    const { response } = await client.responses.create({ model: 'gemini-2.5-flash', input: 'hi', constructor: 1 } as unknown as OpenAI.Responses.ResponseCreateParamsNonStreaming).withResponse();
    expect(response.headers.get('x-relay-dropped-params')).toBe('constructor');
  });

  it('drops and names a reasoning_effort of `constructor` for Gemini, rather than sending it as a thinking budget', async () => {
    const { response } = await client.chat.completions
      .create({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'hi' }], reasoning_effort: 'constructor' } as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming)
      .withResponse();
    expect(response.headers.get('x-relay-dropped-params')).toBe('reasoning_effort');
    expect(vendors.gemini.requests[0]?.body).not.toHaveProperty('generationConfig.thinkingConfig');
  });
});
