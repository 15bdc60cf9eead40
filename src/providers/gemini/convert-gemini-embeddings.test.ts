import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { convertGeminiEmbeddings } from './convert-gemini-embeddings.js';

const answer = JSON.parse(readFileSync(new URL('./__fixtures__/batch-embed-contents.json', import.meta.url), 'utf8')) as unknown;

describe('convertGeminiEmbeddings', () => {
  it('answers in OpenAI’s list shape, in input order, with an estimated usage', () => {
    const converted = convertGeminiEmbeddings(answer, ['hello world', 'a'], 'gemini-embedding-001', undefined, 'gemini');
    expect(converted.body).toEqual({
      object: 'list',
      model: 'gemini-embedding-001',
      data: [
        { object: 'embedding', index: 0, embedding: [0.013168523, -0.008711934, -0.046782676, 0.00069968984] },
        { object: 'embedding', index: 1, embedding: [-0.024917565, 0.015289108, 0.0012551302, -0.03127713] },
      ],
      usage: { prompt_tokens: 4, total_tokens: 4 },
    });
    expect(converted.usage).toEqual({ prompt_tokens: 4, completion_tokens: 0, total_tokens: 4 });
  });

  it('encodes vectors as base64 float32 when asked, as OpenAI does', () => {
    const converted = convertGeminiEmbeddings(answer, ['x', 'y'], 'm', 'base64', 'gemini');
    const encoded = (converted.body.data as Array<{ embedding: string }>)[0]!.embedding;
    const decoded = new Float32Array(new Uint8Array(Buffer.from(encoded, 'base64')).buffer);
    expect([...decoded].map((value) => Number(value.toFixed(6)))).toEqual([0.013169, -0.008712, -0.046783, 0.0007]);
  });

  it('fails as provider_internal when the count of vectors does not match the inputs', () => {
    expect(() => convertGeminiEmbeddings({ embeddings: [] }, ['x'], 'm', undefined, 'gemini')).toThrow(expect.objectContaining({ reason: 'provider_internal' }));
  });
});
