import { setFlagsFromString, getHeapStatistics } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { DeliveredText, deliveredPartsLimit } from './delivered-text.js';

const chunk = (delta: Record<string, unknown>) => JSON.stringify({ id: 'c', object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: null }] });

describe('DeliveredText', () => {
  it('reads content, refusals and tool calls from chunk JSON, in order with text read elsewhere', () => {
    const delivered = new DeliveredText();
    delivered.add(chunk({ role: 'assistant', content: 'Hello' }));
    delivered.addText(', wörld');
    delivered.add(chunk({ refusal: ' no' }));
    delivered.add(chunk({ tool_calls: [{ index: 0, function: { name: 'lookup', arguments: '{"q":' } }] }));
    delivered.add(chunk({ tool_calls: [{ index: 0, function: { arguments: '1}' } }] }));
    delivered.add('not json');
    delivered.add('{"choices":null}');
    expect(delivered.text()).toBe('Hello, wörld nolookup{"q":1}');
    // Asked again, or after more parts, it gives what was delivered, each part once.
    expect(delivered.text()).toBe('Hello, wörld nolookup{"q":1}');
    delivered.addText('!');
    expect(delivered.text()).toBe('Hello, wörld nolookup{"q":1}!');
  });

  it('reads a chunk whose JSON text spans several lines', () => {
    const delivered = new DeliveredText();
    delivered.add(JSON.stringify(JSON.parse(chunk({ content: 'multi' })), null, 2));
    delivered.add(chunk({ content: '-line' }).replace(',', ',\r\n'));
    expect(delivered.text()).toBe('multi-line');
  });

  it('keeps the text of a long stream, not its chunks: the same text, in far less memory', () => {
    const delivered = new DeliveredText();
    let expected = '';
    let chunkLength = 0;
    for (let index = 0; index < 20_000; index++) {
      const piece = `w${index} `;
      expected += piece;
      if (index % 5 === 0) delivered.addText(piece);
      else {
        const json = chunk({ content: piece });
        chunkLength += json.length;
        delivered.add(json);
      }
    }
    expect(chunkLength).toBeGreaterThan(25 * deliveredPartsLimit);
    expect(delivered.heldLength).toBeLessThan(deliveredPartsLimit + expected.length);
    expect(delivered.text()).toBe(expected);
  });

  it('holds the text of a stream in about its own size, not in a node per piece', () => {
    setFlagsFromString('--expose-gc');
    const collect = runInNewContext('gc') as () => void;
    const used = () => {
      collect();
      return getHeapStatistics().used_heap_size;
    };
    const streams = 2000;
    const kept: DeliveredText[] = [];
    let textLength = 0;
    const before = used();
    for (let stream = 0; stream < streams; stream++) {
      const delivered = new DeliveredText();
      for (let index = 0; index < 200; index++) delivered.addText(`w${stream + index} `);
      kept.push(delivered);
    }
    const perStream = (used() - before) / streams;
    for (const delivered of kept) textLength += delivered.heldLength;
    // ~1.1 KB of text each; kept as 200 pieces joined by `+=` it took ~12 KB.
    expect(perStream).toBeLessThan((3 * textLength) / streams);
    expect(kept[7]!.text()).toBe(Array.from({ length: 200 }, (_, index) => `w${7 + index} `).join(''));
  });
});
