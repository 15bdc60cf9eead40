import { describe, expect, it } from 'vitest';
import { UpstreamError } from '../../spec/relay-error.js';
import { convertToGeminiEmbeddings, geminiMaxEmbedBatch } from './convert-to-gemini-embeddings.js';

describe('convertToGeminiEmbeddings', () => {
  it('makes one request per input with outputDimensionality from dimensions', () => {
    const dropped: string[] = [];
    const request = convertToGeminiEmbeddings({ model: 'e', input: ['a', 'b'], dimensions: 256, encoding_format: 'float', user: 'u' }, 'gemini-embedding-001', {
      provider: 'gemini',
      strict: false,
      dropped,
    });
    expect(request).toEqual([
      {
        requests: [
          { model: 'models/gemini-embedding-001', content: { parts: [{ text: 'a' }] }, outputDimensionality: 256 },
          { model: 'models/gemini-embedding-001', content: { parts: [{ text: 'b' }] }, outputDimensionality: 256 },
        ],
      },
    ]);
    expect(dropped).toEqual([]);
  });

  it('takes a single string, and reports or refuses unknown fields', () => {
    const dropped: string[] = [];
    expect(convertToGeminiEmbeddings({ input: 'solo', extra: 1 }, 'm', { provider: 'gemini', strict: false, dropped })).toEqual([{ requests: [{ model: 'models/m', content: { parts: [{ text: 'solo' }] } }] }]);
    expect(dropped).toEqual(['extra']);
    expect(() => convertToGeminiEmbeddings({ input: 'solo', extra: 1 }, 'm', { provider: 'gemini', strict: true, dropped: [] })).toThrow(UpstreamError);
  });

  it('splits more than 100 inputs into batches of 100, the most Gemini takes, in input order', () => {
    const input = Array.from({ length: 250 }, (_value, index) => `text ${index}`);
    const batches = convertToGeminiEmbeddings({ input }, 'm', { provider: 'gemini', strict: false, dropped: [] });
    expect(batches.map((batch) => batch.requests.length)).toEqual([geminiMaxEmbedBatch, geminiMaxEmbedBatch, 50]);
    expect(batches.flatMap((batch) => batch.requests.map((entry) => entry.content.parts[0]?.text))).toEqual(input);
  });

  it('refuses token arrays with a 400 naming the input', () => {
    expect(() => convertToGeminiEmbeddings({ input: [[1, 2, 3]] }, 'm', { provider: 'gemini', strict: false, dropped: [] })).toThrow(
      expect.objectContaining({ reason: 'invalid_request', status: 400, upstreamParam: 'input[0]' }),
    );
  });
});
