/**
 * The relay's errors. Two roots: {@link RelayError} for the relay's own refusals (bad input, auth,
 * unknown model, limits) and {@link UpstreamError} for failures of an upstream call. Both render as
 * OpenAI's error object, `{"error":{"message","type","param","code"}}`, so every OpenAI SDK maps them
 * to its own exception classes. `docs/errors.md` lists every code with how to fix it.
 */

import { redactSecrets } from './redact-secrets.js';

/** OpenAI's `error.type` values that SDKs and clients switch on. */
export type OpenAIErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'conflict_error'
  | 'rate_limit_error'
  | 'insufficient_quota'
  | 'server_error'
  | 'timeout_error';

/** What an error looks like on the wire. */
export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export interface RelayErrorOptions {
  status: number;
  type: OpenAIErrorType;
  code: string;
  param?: string | null;
  /** Extra response headers, e.g. `retry-after` on a 429. */
  headers?: Record<string, string>;
  /** For an upstream's refusal passed on to the client: why the upstream refused. */
  reason?: FailureReason;
  cause?: unknown;
}

/** A refusal by the relay itself. The message is written for the caller and is always safe to show. */
export class RelayError extends Error {
  readonly status: number;
  readonly type: OpenAIErrorType;
  readonly code: string;
  readonly param: string | null;
  readonly headers: Record<string, string> | undefined;
  readonly reason: FailureReason | undefined;

  constructor(message: string, options: RelayErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RelayError';
    this.status = options.status;
    this.type = options.type;
    this.code = options.code;
    this.param = options.param ?? null;
    this.headers = options.headers;
    this.reason = options.reason;
  }

  toJSON(): OpenAIErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

/**
 * Why an upstream call failed. Routing reads only this to decide between retry, fall back and
 * return; see `src/routing/retry-policy.ts`.
 */
export type FailureReason =
  | 'rate_limited'
  | 'quota'
  | 'auth'
  | 'invalid_request'
  | 'not_found'
  | 'endpoint_not_found'
  | 'context_length'
  | 'content_filter'
  | 'provider_internal'
  | 'network'
  | 'timeout';

export interface UpstreamErrorOptions {
  reason: FailureReason;
  /** The upstream's HTTP status, when it answered. */
  status?: number;
  /** The upstream's own message: shown to the client only for 4xx answers that are the caller's fault. */
  upstreamMessage?: string;
  upstreamType?: string;
  upstreamCode?: string | null;
  upstreamParam?: string | null;
  /** Milliseconds the upstream asked us to wait (`retry-after-ms` / `retry-after`). */
  retryAfterMs?: number;
  provider?: string;
  cause?: unknown;
}

/** A failed upstream call. Its `message` is for logs; what the client sees is built by `toClientError`. */
export class UpstreamError extends Error {
  readonly reason: FailureReason;
  readonly status: number | undefined;
  readonly upstreamMessage: string | undefined;
  readonly upstreamType: string | undefined;
  readonly upstreamCode: string | null | undefined;
  readonly upstreamParam: string | null | undefined;
  readonly retryAfterMs: number | undefined;
  readonly provider: string | undefined;

  constructor(message: string, options: UpstreamErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'UpstreamError';
    this.reason = options.reason;
    this.status = options.status;
    this.upstreamMessage = options.upstreamMessage;
    this.upstreamType = options.upstreamType;
    this.upstreamCode = options.upstreamCode;
    this.upstreamParam = options.upstreamParam;
    this.retryAfterMs = options.retryAfterMs;
    this.provider = options.provider;
  }
}

/**
 * Tells the OpenAI and Anthropic SDKs not to retry a 5xx that only the relay's operator can fix:
 * they retry every 5xx by default (twice), and would only repeat the failure.
 */
const doNotRetry = { 'x-should-retry': 'false' };

const clientFaultReasons = new Set<FailureReason>(['invalid_request', 'not_found', 'context_length', 'content_filter']);

/**
 * What the client sees for an upstream failure that routing gave up on. A 4xx that is the caller's
 * fault passes through with the upstream's message; everything else gets a fixed message, because
 * a 5xx must never echo upstream bodies, internals or keys. Details stay in the log under the
 * request id.
 */
export function toClientError(error: UpstreamError, requestId: string, upstreamSecrets: readonly string[] = []): RelayError {
  const status = error.status ?? 0;
  if (clientFaultReasons.has(error.reason) && status >= 400 && status < 500) {
    // Some upstreams (and proxies in front of them) quote the request's headers in their errors, in
    // any of its fields: never the relay's credentials.
    const scrub = <T extends string | null | undefined>(text: T): T => (typeof text === 'string' ? (redactSecrets(text, upstreamSecrets) as T) : text);
    const message = error.upstreamMessage === undefined ? 'The upstream rejected the request.' : redactSecrets(error.upstreamMessage, upstreamSecrets);
    return new RelayError(message, {
      status,
      type: (scrub(error.upstreamType) as OpenAIErrorType | undefined) ?? 'invalid_request_error',
      code: scrub(error.upstreamCode) ?? (error.reason === 'context_length' ? 'context_length_exceeded' : error.reason),
      param: scrub(error.upstreamParam) ?? null,
      reason: error.reason,
    });
  }
  switch (error.reason) {
    case 'rate_limited':
      return new RelayError(
        `The upstream is rate limiting the relay and retries did not get through. Retry later (request id ${requestId}).`,
        {
          status: 429,
          type: 'rate_limit_error',
          code: 'upstream_rate_limited',
          headers: error.retryAfterMs === undefined ? undefined : { 'retry-after': String(Math.ceil(error.retryAfterMs / 1000)) },
        },
      );
    case 'quota':
      return new RelayError(
        `The upstream account behind this relay has no quota left. Tell the relay's operator (request id ${requestId}).`,
        { status: 502, type: 'server_error', code: 'upstream_quota_exhausted', headers: doNotRetry },
      );
    case 'auth':
      return new RelayError(
        `The upstream refused the relay's own credentials${error.provider ? ` for provider "${error.provider}"` : ''}. ` +
          `This is not your key: the relay's operator must check the upstream API key (request id ${requestId}).`,
        { status: 502, type: 'server_error', code: 'upstream_auth_failed', headers: doNotRetry },
      );
    case 'endpoint_not_found':
      // The URL itself is in the log, for the operator; the client learns whose upstream it is.
      return new RelayError(
        `The upstream${error.provider ? ` of provider "${error.provider}"` : ''} answered 404 at the URL the relay calls: nothing is served there, ` +
          `so the provider's base URL is most likely wrong (often a missing /v1). This is not your request: tell the relay's operator (request id ${requestId}).`,
        { status: 502, type: 'server_error', code: 'upstream_endpoint_not_found', headers: doNotRetry },
      );
    case 'timeout':
      return new RelayError(`The upstream did not answer in time. Retry later (request id ${requestId}).`, {
        status: 504,
        type: 'timeout_error',
        code: 'upstream_timeout',
      });
    default:
      return new RelayError(`The upstream failed to answer. Retry later (request id ${requestId}).`, {
        status: 502,
        type: 'server_error',
        code: 'upstream_error',
      });
  }
}
