import { describe, expect, it } from 'vitest';
import { messagesBytes, messagesText } from './admit-request.js';

describe('messagesBytes', () => {
  it('is the UTF-8 size of the messages as text, without building the text', () => {
    const cases: Array<Array<{ content?: unknown }>> = [
      [],
      [{ content: '' }],
      [{ content: 'hello' }],
      [{ content: 'système' }, { content: '你好，世界' }, { content: '🙂 emoji' }],
      [{ content: [{ type: 'text', text: 'part one' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } }] }, {}],
      [{ content: null }, { content: 'x'.repeat(100_000) }],
    ];
    for (const messages of cases) expect(messagesBytes(messages)).toBe(Buffer.byteLength(messagesText(messages)));
  });
});
