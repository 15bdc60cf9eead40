import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { convertGeminiEmbeddings } from './convert-gemini-embeddings.js';
import type { GeminiEmbeddingsRequest } from './convert-to-gemini-embeddings.js';

const answer = JSON.parse(readFileSync(new URL('./__fixtures__/batch-embed-contents.json', import.meta.url), 'utf8')) as unknown;

/** The vector at unit length. */
function unit(values: number[]): number[] {
  const length = Math.hypot(...values);
  return values.map((value) => value / length);
}

/** One batch of `texts`, as `convertToGeminiEmbeddings` makes it. */
function batch(...texts: string[]): GeminiEmbeddingsRequest {
  return { requests: texts.map((text) => ({ model: 'models/m', content: { parts: [{ text }] } })) };
}

describe('convertGeminiEmbeddings', () => {
  it('answers in OpenAI’s list shape, in input order, at unit length, with an estimated usage', () => {
    const converted = convertGeminiEmbeddings([answer], [batch('hello world', 'a')], 'gemini-embedding-001', undefined, 'gemini');
    const closeTo = (values: number[]) => values.map((value) => expect.closeTo(value, 12));
    expect(converted.body).toEqual({
      object: 'list',
      model: 'gemini-embedding-001',
      data: [
        { object: 'embedding', index: 0, embedding: closeTo(unit([0.013168523, -0.008711934, -0.046782676, 0.00069968984])) },
        { object: 'embedding', index: 1, embedding: closeTo(unit([-0.024917565, 0.015289108, 0.0012551302, -0.03127713])) },
      ],
      usage: { prompt_tokens: 4, total_tokens: 4 },
    });
    expect(converted.usage).toEqual({ prompt_tokens: 4, completion_tokens: 0, total_tokens: 4 });
  });

  it('encodes vectors as base64 float32 when asked, as OpenAI does', () => {
    const converted = convertGeminiEmbeddings([answer], [batch('x', 'y')], 'm', 'base64', 'gemini');
    const encoded = (converted.body.data as Array<{ embedding: string }>)[0]!.embedding;
    const decoded = new Float32Array(new Uint8Array(Buffer.from(encoded, 'base64')).buffer);
    expect([...decoded].map((value) => Number(value.toFixed(6)))).toEqual([0.266676, -0.176425, -0.947395, 0.014169]);
  });

  it('leaves a vector of unit length (Gemini’s full 3072 dimensions) as it is, and one of zeros', () => {
    const normalized = [0.6, 0.8, 0];
    const converted = convertGeminiEmbeddings([{ embeddings: [{ values: normalized }, { values: [0, 0, 0] }] }], [batch('a', 'b')], 'm', undefined, 'gemini');
    expect((converted.body.data as Array<{ embedding: number[] }>).map((entry) => entry.embedding)).toEqual([normalized, [0, 0, 0]]);
  });

  it('joins the answers of several batches in input order, indexes counting every input, usage summed', () => {
    const second = { embeddings: [{ values: [1, 0] }], usageMetadata: { promptTokenCount: 9 } };
    const converted = convertGeminiEmbeddings([answer, second], [batch('hello world', 'a'), batch('third')], 'm', undefined, 'gemini');
    expect((converted.body.data as Array<{ index: number; embedding: number[] }>).map((entry) => [entry.index, entry.embedding[0]])).toEqual([
      [0, expect.closeTo(unit([0.013168523, -0.008711934, -0.046782676, 0.00069968984])[0]!, 12)],
      [1, expect.closeTo(unit([-0.024917565, 0.015289108, 0.0012551302, -0.03127713])[0]!, 12)],
      [2, 1],
    ]);
    // The first batch's estimate (3 + 1) and the second's reported count.
    expect(converted.usage).toEqual({ prompt_tokens: 13, completion_tokens: 0, total_tokens: 13 });
  });

  it('fails as provider_internal when the count of vectors of any batch does not match its inputs', () => {
    expect(() => convertGeminiEmbeddings([{ embeddings: [] }], [batch('x')], 'm', undefined, 'gemini')).toThrow(expect.objectContaining({ reason: 'provider_internal' }));
    // Three vectors for three texts, but not for the batches they were sent in.
    const mismatched = [{ embeddings: [{ values: [1] }] }, { embeddings: [{ values: [2] }, { values: [3] }] }];
    expect(() => convertGeminiEmbeddings(mismatched, [batch('a', 'b'), batch('c')], 'm', undefined, 'gemini')).toThrow(expect.objectContaining({ reason: 'provider_internal' }));
  });
});
