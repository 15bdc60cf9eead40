import { UpstreamError } from '../../spec/relay-error.js';

export interface GeminiEmbeddingsRequest {
  requests: Array<{ model: string; content: { parts: Array<{ text: string }> }; outputDimensionality?: number }>;
}

export interface EmbeddingsConversionOptions {
  provider: string;
  strict: boolean;
  dropped: string[];
}

/**
 * The most texts one `batchEmbedContents` call takes: Gemini refuses a batch of more ("at most 100
 * requests can be in one batch"), while OpenAI takes 2048 inputs.
 */
export const geminiMaxEmbedBatch = 100;

const handledFields = new Set(['model', 'input', 'dimensions', 'encoding_format']);
/** About the caller only; it does not change the vectors. */
const ignoredFields = new Set(['user']);

/**
 * Converts an OpenAI embeddings request to Gemini's `batchEmbedContents` calls: one request per
 * input text, `dimensions` as `outputDimensionality`, in batches of at most 100 texts (the most
 * Gemini takes in one call), in input order. Gemini embeds text, not token ids, so token arrays
 * are refused with a 400 (there is nothing to drop: the input is the whole request).
 * @see https://ai.google.dev/api/embeddings#method:-models.batchembedcontents
 * @see https://platform.openai.com/docs/api-reference/embeddings/create
 */
export function convertToGeminiEmbeddings(body: Record<string, unknown>, model: string, options: EmbeddingsConversionOptions): GeminiEmbeddingsRequest[] {
  const inputs = Array.isArray(body.input) ? body.input : [body.input];
  const texts = inputs.map((input, index) => {
    if (typeof input === 'string') return input;
    const message = 'Gemini embeds text only: send "input" as a string or an array of strings, not token ids.';
    throw new UpstreamError(`${options.provider}: ${message}`, {
      reason: 'invalid_request',
      status: 400,
      provider: options.provider,
      upstreamMessage: message,
      upstreamType: 'invalid_request_error',
      upstreamCode: 'unsupported_parameter',
      upstreamParam: Array.isArray(body.input) ? `input[${index}]` : 'input',
    });
  });
  const unsupported = Object.keys(body).filter((field) => body[field] !== undefined && body[field] !== null && !handledFields.has(field) && !ignoredFields.has(field));
  if (body.encoding_format !== undefined && body.encoding_format !== null && body.encoding_format !== 'float' && body.encoding_format !== 'base64') unsupported.push('encoding_format');
  if (unsupported.length > 0) {
    if (options.strict) {
      const message = `Gemini cannot honour the parameter(s) ${unsupported.join(', ')}, and this request is strict. Remove them, or send the request without strict mode to have them dropped.`;
      throw new UpstreamError(`${options.provider}: ${message}`, {
        reason: 'invalid_request',
        status: 400,
        provider: options.provider,
        upstreamMessage: message,
        upstreamType: 'invalid_request_error',
        upstreamCode: 'unsupported_parameter',
        upstreamParam: unsupported[0] ?? null,
      });
    }
    options.dropped.push(...unsupported);
  }
  const dimensions = typeof body.dimensions === 'number' ? body.dimensions : undefined;
  const requests = texts.map((text) => ({
    model: `models/${model}`,
    content: { parts: [{ text }] },
    ...(dimensions === undefined ? {} : { outputDimensionality: dimensions }),
  }));
  const batches: GeminiEmbeddingsRequest[] = [];
  for (let start = 0; start < requests.length; start += geminiMaxEmbedBatch) batches.push({ requests: requests.slice(start, start + geminiMaxEmbedBatch) });
  return batches;
}
