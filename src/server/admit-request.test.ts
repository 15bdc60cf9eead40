import { describe, expect, it } from 'vitest';
import { wavFile } from '../../test/support/media-files.js';
import { imagePromptTokens, messagesBytes, messagesTally } from './admit-request.js';

/** Each message's framing, in the bytes the estimate reads (4 tokens at 3 bytes each). */
const framing = 12;

describe('messagesBytes', () => {
  it("is the UTF-8 size of the messages' text, of their other parts as JSON, and each message's framing", () => {
    expect(messagesBytes([])).toBe(0);
    expect(messagesBytes([{ content: '' }])).toBe(framing);
    expect(messagesBytes([{ content: 'hello' }])).toBe(5 + framing);
    // Two separators between three messages.
    expect(messagesBytes([{ content: 'système' }, { content: '你好，世界' }, { content: '🙂 emoji' }])).toBe(Buffer.byteLength('système你好，世界🙂 emoji') + 2 + 3 * framing);
    expect(messagesBytes([{ content: null }, { content: 'x'.repeat(100_000) }])).toBe(100_000 + 1 + 2 * framing);
    // Any other part as its JSON; audio by its length (two seconds at 32 tokens a second).
    const file = { type: 'file', file: { file_id: 'file-abc' } };
    expect(messagesBytes([{ content: [{ type: 'text', text: 'part one' }, file] }])).toBe(8 + Buffer.byteLength(JSON.stringify(file)) + framing);
    const audio = { type: 'input_audio', input_audio: { data: wavFile(2).toString('base64'), format: 'wav' } };
    expect(messagesBytes([{ content: [audio] }])).toBe(65 * 3 + framing);
  });

  it('counts an image as a fixed number of tokens, whether it comes as a URL or as megabytes of base64', () => {
    const screenshot = `data:image/png;base64,${'A'.repeat(1_000_000)}`;
    for (const image of [{ type: 'image_url', image_url: { url: 'https://example.com/cat.png' } }, { type: 'image_url', image_url: { url: screenshot } }]) {
      expect(messagesBytes([{ content: [{ type: 'text', text: 'What is this?' }, image] }])).toBe(13 + imagePromptTokens * 3 + framing);
    }
    // Anthropic's image blocks, in a message and in a tool result (as Claude Code's Read tool sends a screenshot).
    const block = { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'A'.repeat(1_000_000) } };
    expect(messagesBytes([{ content: [block] }])).toBe(imagePromptTokens * 3 + framing);
    const toolResult = { type: 'tool_result', tool_use_id: 'toolu_1', content: [block, { type: 'text', text: 'ok' }] };
    expect(messagesBytes([{ content: [toolResult] }])).toBe(Buffer.byteLength(JSON.stringify({ type: 'tool_result', tool_use_id: 'toolu_1' })) + imagePromptTokens * 3 + 2 + framing);
  });
});

describe('messagesTally', () => {
  it('gives the tokenizer the texts and parts as JSON, and counts framing and images without it', () => {
    const block = { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'A'.repeat(1_000_000) } };
    const tally = messagesTally([
      { content: 'Look at this.' },
      { content: [{ type: 'text', text: 'Here:' }, { type: 'image_url', image_url: { url: 'https://example.com/cat.png' } }] },
      { content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: [block, { type: 'text', text: 'ok' }] }] },
    ]);
    expect(tally.tokens).toBe(3 * 4 + 2 * imagePromptTokens);
    expect(tally.texts).toEqual(['Look at this.', 'Here:', JSON.stringify({ type: 'tool_result', tool_use_id: 'toolu_1' }), 'ok']);
  });

  it("counts an assistant message's tool calls, whose arguments may be a whole file", () => {
    const calls = [{ id: 'call_1', type: 'function', function: { name: 'write_file', arguments: JSON.stringify({ path: 'a.ts', text: 'x'.repeat(30_000) }) } }];
    const messages = [{ content: null, tool_calls: calls }];
    expect(messagesBytes(messages)).toBe(Buffer.byteLength(JSON.stringify(calls)) + framing);
    expect(messagesTally(messages).texts).toEqual([JSON.stringify(calls)]);
  });
});
