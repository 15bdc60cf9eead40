import { describe, expect, it } from 'vitest';
import { imagePromptTokens, messagesBytes } from './admit-request.js';

/** Each message's framing, in the bytes the estimate reads (4 tokens at 3 bytes each). */
const framing = 12;

describe('messagesBytes', () => {
  it('is the UTF-8 size of the messages as text, plus each message\'s framing', () => {
    expect(messagesBytes([])).toBe(0);
    expect(messagesBytes([{ content: '' }])).toBe(framing);
    expect(messagesBytes([{ content: 'hello' }])).toBe(5 + framing);
    // Two separators between three messages.
    expect(messagesBytes([{ content: 'système' }, { content: '你好，世界' }, { content: '🙂 emoji' }])).toBe(Buffer.byteLength('système你好，世界🙂 emoji') + 2 + 3 * framing);
    expect(messagesBytes([{ content: null }, { content: 'x'.repeat(100_000) }])).toBe(Buffer.byteLength('""') + 100_000 + 1 + 2 * framing);
    const parts = [{ type: 'text', text: 'part one' }, { type: 'input_audio', input_audio: { data: 'AAAA', format: 'wav' } }];
    expect(messagesBytes([{ content: parts }])).toBe(Buffer.byteLength(JSON.stringify(parts)) + framing);
  });

  it('counts an image as a fixed number of tokens, whether it comes as a URL or as megabytes of base64', () => {
    const screenshot = `data:image/png;base64,${'A'.repeat(1_000_000)}`;
    for (const image of [{ type: 'image_url', image_url: { url: 'https://example.com/cat.png' } }, { type: 'image_url', image_url: { url: screenshot } }]) {
      const bytes = messagesBytes([{ content: [{ type: 'text', text: 'What is this?' }, image] }]);
      expect(bytes).toBe(Buffer.byteLength(JSON.stringify({ type: 'text', text: 'What is this?' })) + 3 + imagePromptTokens * 3 + framing);
    }
    // Anthropic's image blocks, in a message and in a tool result (as Claude Code's Read tool sends a screenshot).
    const block = { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'A'.repeat(1_000_000) } };
    expect(messagesBytes([{ content: [block] }])).toBe(2 + imagePromptTokens * 3 + framing);
    const toolResult = { type: 'tool_result', tool_use_id: 'toolu_1', content: [block, { type: 'text', text: 'ok' }] };
    const bytes = messagesBytes([{ content: [toolResult] }]);
    expect(bytes).toBeGreaterThan(imagePromptTokens * 3);
    expect(bytes).toBeLessThan(imagePromptTokens * 3 + 200);
  });
});
