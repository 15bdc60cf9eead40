import { describe, expect, it } from 'vitest';
import { DeliveredText, deliveredPartsLimit } from './delivered-text.js';

const chunk = (delta: Record<string, unknown>) => JSON.stringify({ id: 'c', object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: null }] });
const event = (delta: Record<string, unknown>) => `data: ${chunk(delta)}\n\n`;

describe('DeliveredText', () => {
  it('reads content, refusals and tool calls from chunk JSON and from relayed SSE bytes', () => {
    const delivered = new DeliveredText();
    delivered.add(chunk({ role: 'assistant', content: 'Hello' }));
    delivered.add(Buffer.from(event({ content: ', wörld' }) + event({ refusal: ' no' })));
    delivered.add(Buffer.from(event({ tool_calls: [{ index: 0, function: { name: 'lookup', arguments: '{"q":' } }] })));
    delivered.add(chunk({ tool_calls: [{ index: 0, function: { arguments: '1}' } }] }));
    delivered.add('not json');
    expect(delivered.text()).toBe('Hello, wörld nolookup{"q":1}');
    // Asked again, or after more parts, it gives what was delivered, each part once.
    expect(delivered.text()).toBe('Hello, wörld nolookup{"q":1}');
    delivered.add(Buffer.from(event({ content: '!' })));
    expect(delivered.text()).toBe('Hello, wörld nolookup{"q":1}!');
  });

  it('reads a chunk whose JSON text spans several lines', () => {
    const delivered = new DeliveredText();
    delivered.add(JSON.stringify(JSON.parse(chunk({ content: 'multi' })), null, 2));
    delivered.add(chunk({ content: '-line' }).replace(',', ',\r\n'));
    expect(delivered.text()).toBe('multi-line');
  });

  it('copies each part: the buffer it came in may be let go or reused', () => {
    const delivered = new DeliveredText();
    const read = Buffer.from(event({ content: 'kept' }));
    delivered.add(read);
    read.fill(0x20);
    delivered.add(Buffer.from(event({ content: ' as sent' })));
    expect(delivered.text()).toBe('kept as sent');
  });

  it('keeps an event cut between two parts whole', () => {
    const delivered = new DeliveredText();
    const bytes = Buffer.from(event({ content: 'split' }) + event({ content: ' here' }));
    delivered.add(bytes.subarray(0, 30));
    delivered.add(bytes.subarray(30));
    expect(delivered.text()).toBe('split here');
  });

  it('keeps the text of a long stream, not its events: the same text, in far less memory', () => {
    const delivered = new DeliveredText();
    let expected = '';
    let relayedBytes = 0;
    for (let index = 0; index < 20_000; index++) {
      const piece = `w${index} `;
      expected += piece;
      // Events in reads of three, one read cut mid-event now and then, and JSON parts between.
      const bytes = Buffer.from(event({ content: piece }));
      relayedBytes += bytes.length;
      if (index % 7 === 0) {
        delivered.add(bytes.subarray(0, 11));
        delivered.add(bytes.subarray(11));
      } else if (index % 5 === 0) delivered.add(chunk({ content: piece }));
      else delivered.add(bytes);
    }
    expect(relayedBytes).toBeGreaterThan(30 * deliveredPartsLimit);
    expect(delivered.heldBytes).toBeLessThan(deliveredPartsLimit + expected.length);
    expect(delivered.text()).toBe(expected);
  });
});
