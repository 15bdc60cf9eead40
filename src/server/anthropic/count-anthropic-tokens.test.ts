import { describe, expect, it } from 'vitest';
import { countAnthropicTokens } from './count-anthropic-tokens.js';

describe('countAnthropicTokens', () => {
  it('estimates text with a tokenizer, not by characters', async () => {
    const short = await countAnthropicTokens({ messages: [{ role: 'user', content: 'Hello, world' }] });
    expect(short).toBeGreaterThanOrEqual(5);
    expect(short).toBeLessThanOrEqual(8);
    const long = await countAnthropicTokens({ messages: [{ role: 'user', content: 'The quick brown fox jumps over the lazy dog. '.repeat(100) }] });
    expect(long).toBeGreaterThan(900);
    expect(long).toBeLessThan(1200);
  });

  it('counts system, tools (with the tool prompt), images, tool use and special-token text', async () => {
    const base = await countAnthropicTokens({ messages: [{ role: 'user', content: 'hi' }] });
    const withSystem = await countAnthropicTokens({ system: 'You are a helpful assistant.', messages: [{ role: 'user', content: 'hi' }] });
    expect(withSystem).toBeGreaterThan(base);
    const withTools = await countAnthropicTokens({ messages: [{ role: 'user', content: 'hi' }], tools: [{ name: 'get_weather', input_schema: { type: 'object' } }] });
    expect(withTools - base).toBeGreaterThan(346);
    const withImage = await countAnthropicTokens({ messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'url', url: 'https://x/y.png' } }] }] });
    expect(withImage).toBe(1_603);
    const special = await countAnthropicTokens({ messages: [{ role: 'user', content: '<|endoftext|>' }] });
    expect(special).toBeGreaterThan(3);
  });
});
