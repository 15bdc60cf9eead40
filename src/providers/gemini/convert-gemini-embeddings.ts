import type { Usage } from '../../spec/openai-chat.js';
import { UpstreamError } from '../../spec/relay-error.js';
import type { GeminiEmbeddingsRequest } from './convert-to-gemini-embeddings.js';

export interface EmbeddingsAnswer {
  /** OpenAI's embeddings list object. */
  body: Record<string, unknown>;
  usage: Usage;
}

/**
 * Converts the answers of `batchEmbedContents` calls, one per batch of `batches` and in their
 * order, to OpenAI's embeddings list, in input order (`index` counts the inputs of every batch).
 * Vectors are given as floats, or as base64 of little-endian float32 when the client asked for
 * `base64` (what OpenAI sends, and what the OpenAI SDKs ask for by default), and always of unit
 * length, as OpenAI's are (`unitLength`).
 * Gemini's embedding answers carry no token counts (a `usageMetadata`, should one appear, is used
 * for its batch), so the usage is an ESTIMATE of about four characters per token: clients that read
 * `usage` and the relay's metering need a number, and a close one is better than zero. Treat it as
 * approximate. A batch answered with another count of vectors than it sent texts fails the whole.
 * @see https://ai.google.dev/api/embeddings#batchembedcontentsresponse
 * @see https://platform.openai.com/docs/api-reference/embeddings/object
 */
export function convertGeminiEmbeddings(
  answers: readonly unknown[],
  batches: readonly GeminiEmbeddingsRequest[],
  model: string,
  encodingFormat: unknown,
  provider: string,
): EmbeddingsAnswer {
  const data: Array<{ object: 'embedding'; index: number; embedding: number[] | string }> = [];
  let promptTokens = 0;
  batches.forEach((batch, position) => {
    const answer = answers[position];
    const texts = batch.requests.map((entry) => entry.content.parts[0]?.text ?? '');
    const embeddings = (answer as { embeddings?: Array<{ values?: unknown }> } | null | undefined)?.embeddings;
    if (!Array.isArray(embeddings) || embeddings.length !== texts.length) {
      throw new UpstreamError(`${provider}: batchEmbedContents answered ${Array.isArray(embeddings) ? embeddings.length : 'no'} embeddings for ${texts.length} inputs`, {
        reason: 'provider_internal',
        provider,
      });
    }
    for (const embedding of embeddings) {
      const values = unitLength(Array.isArray(embedding?.values) ? (embedding.values as number[]) : []);
      data.push({ object: 'embedding', index: data.length, embedding: encodingFormat === 'base64' ? toBase64(values) : values });
    }
    const reported = (answer as { usageMetadata?: { promptTokenCount?: unknown } }).usageMetadata?.promptTokenCount;
    promptTokens += typeof reported === 'number' ? reported : texts.reduce((sum, text) => sum + Math.max(1, Math.ceil(text.length / 4)), 0);
  });
  return {
    body: { object: 'list', data, model, usage: { prompt_tokens: promptTokens, total_tokens: promptTokens } },
    usage: { prompt_tokens: promptTokens, completion_tokens: 0, total_tokens: promptTokens },
  };
}

/** How far from 1 a vector's length may be and the vector still be taken as normalized (float rounding). */
const unitTolerance = 1e-6;

/**
 * The vector scaled to length 1. OpenAI's embeddings are always of unit length, and clients compare
 * them by dot product; gemini-embedding-001 normalizes only its full 3072 dimensions, and vectors of
 * fewer (`dimensions`: Matryoshka truncation) come with another length, which Google leaves to the
 * caller to normalize. A vector of unit length already, or of none (all zeros), is left as it is.
 * @see https://ai.google.dev/gemini-api/docs/embeddings#quality-for-smaller-dimensions
 */
function unitLength(values: number[]): number[] {
  let squares = 0;
  for (const value of values) squares += Number(value) * Number(value);
  const length = Math.sqrt(squares);
  if (length === 0 || !Number.isFinite(length) || Math.abs(length - 1) <= unitTolerance) return values;
  return values.map((value) => Number(value) / length);
}

function toBase64(values: readonly number[]): string {
  const buffer = Buffer.alloc(values.length * 4);
  values.forEach((value, index) => buffer.writeFloatLE(Number(value), index * 4));
  return buffer.toString('base64');
}
