import { UpstreamError, type FailureReason } from '../../spec/relay-error.js';
import { endpointNotFound, isUnservedUrl, readRetryAfter } from '../upstream-failure.js';

interface OpenAIErrorFields {
  message?: string;
  type?: string;
  code?: string | null;
  param?: string | null;
}

function readErrorFields(bodyText: string): OpenAIErrorFields {
  try {
    const parsed = JSON.parse(bodyText) as { error?: unknown; message?: unknown; detail?: unknown };
    const error = parsed.error;
    if (error !== null && typeof error === 'object') {
      const record = error as Record<string, unknown>;
      return {
        message: typeof record.message === 'string' ? record.message : undefined,
        type: typeof record.type === 'string' ? record.type : undefined,
        code: typeof record.code === 'string' ? record.code : typeof record.code === 'number' ? String(record.code) : null,
        param: typeof record.param === 'string' ? record.param : null,
      };
    }
    if (typeof error === 'string') return { message: error };
    if (typeof parsed.message === 'string') return { message: parsed.message };
    // FastAPI's HTTPException, which small OpenAI-compatible servers raise ("Model 'x' not found").
    if (typeof parsed.detail === 'string') return { message: parsed.detail };
  } catch {
    // Not JSON (an HTML error page from a proxy, say): the status alone decides.
  }
  return {};
}

/**
 * Classifies a non-2xx answer of an OpenAI-compatible upstream into a failure reason. A 404 with an
 * error naming what is unknown (OpenAI's `model_not_found`, vLLM's and Ollama's shapes, a FastAPI
 * server's `{"detail": "Model 'x' not found"}`) is `not_found`, the caller's; one without (an empty
 * body, an HTML page, OpenAI's "Invalid URL", FastAPI's `{"detail": "Not Found"}`) is
 * `endpoint_not_found`: the base URL is wrong.
 * @see https://platform.openai.com/docs/guides/error-codes
 */
export function classifyOpenAIError(
  status: number,
  bodyText: string,
  headers: Record<string, string | string[] | undefined>,
  provider: string,
  url?: string,
): UpstreamError {
  const fields = readErrorFields(bodyText);
  if (status === 404 && isUnservedUrl(fields.message)) return endpointNotFound(status, bodyText, provider, url);
  const text = `${fields.code ?? ''} ${fields.type ?? ''} ${fields.message ?? ''}`.toLowerCase();
  let reason: FailureReason;
  if (status === 401 || status === 403) reason = 'auth';
  else if (status === 404) reason = 'not_found';
  else if (status === 408) reason = 'timeout';
  else if (status === 429) reason = /insufficient_quota|quota|billing|balance/.test(text) ? 'quota' : 'rate_limited';
  else if (status === 402) reason = 'quota';
  else if (status >= 500 || status === 409) reason = 'provider_internal';
  else if (/context_length|context length|maximum context|too many tokens|prompt is too long/.test(text)) reason = 'context_length';
  else if (/content_filter|content_policy|safety/.test(text)) reason = 'content_filter';
  else reason = 'invalid_request';
  return new UpstreamError(`${provider} answered ${status}: ${bodyText.slice(0, 500)}`, {
    reason,
    status,
    provider,
    upstreamMessage: fields.message,
    upstreamType: fields.type,
    upstreamCode: fields.code,
    upstreamParam: fields.param,
    retryAfterMs: readRetryAfter(headers),
  });
}
