import type { FailureReason } from '../spec/relay-error.js';

/**
 * What routing does for each failure reason: data, not scattered ifs.
 * - `retry`: the same request may succeed if tried again (on this or another deployment).
 * - `otherDeployment`: it may succeed on another deployment (another key or upstream) even if a
 *   retry on the same one would not.
 */
export const failurePolicy: Readonly<Record<FailureReason, { retry: boolean; otherDeployment: boolean }>> = {
  rate_limited: { retry: true, otherDeployment: true },
  provider_internal: { retry: true, otherDeployment: true },
  network: { retry: true, otherDeployment: true },
  timeout: { retry: true, otherDeployment: true },
  quota: { retry: false, otherDeployment: true },
  auth: { retry: false, otherDeployment: true },
  endpoint_not_found: { retry: false, otherDeployment: true },
  not_found: { retry: false, otherDeployment: false },
  invalid_request: { retry: false, otherDeployment: false },
  context_length: { retry: false, otherDeployment: false },
  content_filter: { retry: false, otherDeployment: false },
};

/** Longest `retry-after` the relay will wait for; a longer one means "move on", as OpenAI's SDK does. */
export const maxRetryAfterMs = 60_000;
const initialDelayMs = 500;
const maxDelayMs = 8_000;

/**
 * The wait before retry number `retry` (0 for the first retry): the upstream's `retry-after` when
 * it gave a sane one, else 0.5 s·2ⁿ capped at 8 s, minus up to 25 % jitter so that clients that
 * failed together do not retry together.
 * @see https://github.com/openai/openai-node#retries
 */
export function retryDelayMs(retry: number, retryAfterMs: number | undefined, random: () => number = Math.random): number {
  if (retryAfterMs !== undefined && retryAfterMs >= 0 && retryAfterMs <= maxRetryAfterMs) return retryAfterMs;
  const base = Math.min(initialDelayMs * 2 ** retry, maxDelayMs);
  return base * (1 - random() * 0.25);
}
