import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { classifyGeminiError } from './classify-gemini-error.js';

function fixture(name: string): string {
  return readFileSync(new URL(`./__fixtures__/${name}`, import.meta.url), 'utf8');
}

describe('classifyGeminiError', () => {
  it('reads a bad key (400 with API_KEY_INVALID) as auth, not as the caller’s invalid request', () => {
    const error = classifyGeminiError(400, fixture('error-api-key-invalid.json'), {}, 'gemini');
    expect(error).toMatchObject({ reason: 'auth', status: 400, provider: 'gemini' });
  });

  it('reads 429 RESOURCE_EXHAUSTED as rate_limited with RetryInfo as the wait, and a daily quota as quota', () => {
    expect(classifyGeminiError(429, fixture('error-rate-limited.json'), {}, 'gemini')).toMatchObject({ reason: 'rate_limited', retryAfterMs: 17_000 });
    expect(classifyGeminiError(429, fixture('error-rate-limited.json'), { 'retry-after': '2' }, 'gemini').retryAfterMs).toBe(2000);
    expect(classifyGeminiError(429, fixture('error-daily-quota.json'), {}, 'gemini').reason).toBe('quota');
  });

  it('reads overload and internal errors as provider_internal, and 504 as timeout', () => {
    expect(classifyGeminiError(503, fixture('error-unavailable.json'), {}, 'gemini').reason).toBe('provider_internal');
    expect(classifyGeminiError(500, '{"error":{"code":500,"message":"An internal error has occurred.","status":"INTERNAL"}}', {}, 'gemini').reason).toBe('provider_internal');
    expect(classifyGeminiError(504, '{"error":{"code":504,"message":"Deadline expired","status":"DEADLINE_EXCEEDED"}}', {}, 'gemini').reason).toBe('timeout');
    expect(classifyGeminiError(502, '<html>Bad gateway</html>', {}, 'gemini').reason).toBe('provider_internal');
  });

  it('passes the caller’s mistakes through with their message: invalid argument, context length, not found', () => {
    const invalid = classifyGeminiError(400, '{"error":{"code":400,"message":"* GenerationConfig.temperature: must be <= 2","status":"INVALID_ARGUMENT"}}', {}, 'gemini');
    expect(invalid).toMatchObject({ reason: 'invalid_request', upstreamMessage: '* GenerationConfig.temperature: must be <= 2', upstreamType: 'invalid_request_error', upstreamCode: 'invalid_argument' });
    const precondition = classifyGeminiError(400, '{"error":{"code":400,"message":"User location is not supported for the API use.","status":"FAILED_PRECONDITION"}}', {}, 'gemini');
    expect(precondition.reason).toBe('invalid_request');
    const tooLong = classifyGeminiError(400, fixture('error-context-length.json'), {}, 'gemini');
    expect(tooLong).toMatchObject({ reason: 'context_length', upstreamCode: 'context_length_exceeded' });
    const missing = classifyGeminiError(404, '{"error":{"code":404,"message":"models/gemini-9 is not found for API version v1beta","status":"NOT_FOUND"}}', {}, 'gemini');
    expect(missing).toMatchObject({ reason: 'not_found', upstreamType: 'not_found_error' });
  });

  it('reads a 404 without Google\'s error object as a URL that serves nothing, naming the URL without its query', () => {
    const page = classifyGeminiError(404, '<!DOCTYPE html><title>Error 404 (Not Found)!!1</title>', {}, 'gemini', 'https://proxy.example/gemini/v1beta/models/gemini-2.5-flash:generateContent?alt=sse');
    expect(page).toMatchObject({ reason: 'endpoint_not_found', status: 404, upstreamMessage: undefined });
    expect(page.message).toContain('at https://proxy.example/gemini/v1beta/models/gemini-2.5-flash:generateContent with no error of its own');
    expect(page.message).not.toContain('alt=sse');
  });

  it('reads 401 and 403 as auth, and an error wrapped in an array', () => {
    expect(classifyGeminiError(403, '{"error":{"code":403,"message":"Method doesn\'t allow unregistered callers","status":"PERMISSION_DENIED"}}', {}, 'gemini').reason).toBe('auth');
    expect(classifyGeminiError(401, '', {}, 'gemini').reason).toBe('auth');
    expect(classifyGeminiError(400, `[${fixture('error-api-key-invalid.json')}]`, {}, 'gemini').reason).toBe('auth');
    expect(classifyGeminiError(403, '{"error":{"code":403,"message":"Your API key was reported as leaked. Please use another API key.","status":"PERMISSION_DENIED"}}', {}, 'gemini').reason).toBe('auth');
    const disabled =
      '{"error":{"code":403,"message":"Generative Language API has not been used in project 123 before or it is disabled.","status":"PERMISSION_DENIED","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"SERVICE_DISABLED"}]}}';
    expect(classifyGeminiError(403, disabled, {}, 'gemini').reason).toBe('auth');
  });

  it("reads a 403 about a Files API file the request names as the caller's mistake, passed through as a permission error", () => {
    const message = 'You do not have permission to access the File 4bx9kz2m1q or it may not exist.';
    const error = classifyGeminiError(403, JSON.stringify({ error: { code: 403, message, status: 'PERMISSION_DENIED' } }), {}, 'gemini');
    expect(error).toMatchObject({ reason: 'invalid_request', status: 403, upstreamMessage: message, upstreamType: 'permission_error', upstreamCode: 'permission_denied' });
  });
});
