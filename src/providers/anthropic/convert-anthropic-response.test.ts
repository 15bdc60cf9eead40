import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { AnthropicMessage } from '../../spec/anthropic-messages.js';
import { ThinkingBlockCache } from './anthropic-thinking.js';
import { convertAnthropicResponse } from './convert-anthropic-response.js';
import { mapAnthropicStopReason } from './map-anthropic-stop-reason.js';

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`./__fixtures__/${name}`, import.meta.url), 'utf8')) as AnthropicMessage;

describe('convertAnthropicResponse', () => {
  it('converts a text answer, with cache reads and writes counted into prompt_tokens', () => {
    const completion = convertAnthropicResponse(fixture('text-message.json'));
    expect(completion).toMatchObject({ id: 'msg_01XFDUDYJgAACzvnptvVoYEL', object: 'chat.completion', model: 'claude-sonnet-4-20250514' });
    expect(completion.choices).toEqual([
      { index: 0, message: { role: 'assistant', content: 'Hello! How can I help you today?', refusal: null }, finish_reason: 'stop', logprobs: null },
    ]);
    expect(completion.usage).toEqual({
      prompt_tokens: 2112,
      completion_tokens: 10,
      total_tokens: 2122,
      prompt_tokens_details: { cached_tokens: 2000, cache_write_tokens: 100 },
    });
  });

  it('converts tool_use blocks into tool_calls, thinking into reasoning_content, and remembers the thinking by the calls', () => {
    const cache = new ThinkingBlockCache();
    const message = fixture('tool-use-message.json');
    const completion = convertAnthropicResponse({ ...message, content: [...message.content.slice(0, 1), { type: 'redacted_thinking', data: 'opaque' }, ...message.content.slice(1)] }, undefined, cache);
    const choice = completion.choices[0]!;
    expect(choice.finish_reason).toBe('tool_calls');
    expect(choice.message.content).toBe("I'll check both cities.");
    expect(choice.message.reasoning_content).toBe('The user wants the weather in two cities.');
    const blocks = [message.content[0], { type: 'redacted_thinking', data: 'opaque' }];
    expect(cache.recall('toolu_01A09q90qw90lq917835lq9')).toEqual(blocks);
    expect(cache.recall('toolu_01B19q90qw90lq917835lq0')).toEqual(blocks);
    expect(choice.message.tool_calls).toEqual([
      { id: 'toolu_01A09q90qw90lq917835lq9', type: 'function', function: { name: 'get_weather', arguments: '{"location":"San Francisco, CA","unit":"celsius"}' } },
      { id: 'toolu_01B19q90qw90lq917835lq0', type: 'function', function: { name: 'get_weather', arguments: '{"location":"Paris, France"}' } },
    ]);
  });

  it('gives the forced JSON tool back as the text answer', () => {
    const message: AnthropicMessage = {
      ...fixture('tool-use-message.json'),
      content: [{ type: 'tool_use', id: 'toolu_1', name: 'colour_list', input: { colours: ['red'] } }],
    };
    const choice = convertAnthropicResponse(message, 'colour_list').choices[0]!;
    expect(choice.message.content).toBe('{"colours":["red"]}');
    expect(choice.message.tool_calls).toBeUndefined();
    expect(choice.finish_reason).toBe('stop');
  });
});

describe('convertAnthropicResponse with an untrusted answer', () => {
  it('skips content blocks that are not objects', () => {
    const message = { id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [null, 5, { type: 'text', text: 'kept' }], stop_reason: 'end_turn', usage: { input_tokens: 1, output_tokens: 1 } } as unknown as AnthropicMessage;
    expect(convertAnthropicResponse(message).choices[0]?.message.content).toBe('kept');
  });
});

describe('mapAnthropicStopReason', () => {
  it.each([
    ['end_turn', 'stop'],
    ['stop_sequence', 'stop'],
    ['pause_turn', 'stop'],
    ['max_tokens', 'length'],
    ['tool_use', 'tool_calls'],
    ['refusal', 'content_filter'],
    ['something_new', 'stop'],
    [null, null],
  ])('%s → %s', (stopReason, finishReason) => {
    expect(mapAnthropicStopReason(stopReason)).toBe(finishReason);
  });

  it('joins the text of several thinking blocks, leaves redacted thinking out, and remembers nothing without tool calls', () => {
    const cache = new ThinkingBlockCache();
    const message: AnthropicMessage = {
      ...fixture('text-message.json'),
      content: [
        { type: 'thinking', thinking: 'First.', signature: 's1' },
        { type: 'redacted_thinking', data: 'opaque' },
        { type: 'thinking', thinking: 'Second.', signature: 's2' },
        { type: 'text', text: 'Answer.' },
      ],
    };
    const choice = convertAnthropicResponse(message, undefined, cache).choices[0]!;
    expect(choice.message).toEqual({ role: 'assistant', content: 'Answer.', reasoning_content: 'First.\n\nSecond.', refusal: null });
    const redactedOnly = convertAnthropicResponse({ ...message, content: [{ type: 'redacted_thinking', data: 'opaque' }, { type: 'text', text: 'A.' }] }).choices[0]!;
    expect(redactedOnly.message).not.toHaveProperty('reasoning_content');
  });
});
