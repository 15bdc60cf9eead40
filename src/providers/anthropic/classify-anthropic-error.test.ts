import { describe, expect, it } from 'vitest';
import { classifyAnthropicError, classifyAnthropicStreamError } from './classify-anthropic-error.js';

const body = (type: string, message: string, extra: Record<string, unknown> = {}) => JSON.stringify({ type: 'error', error: { type, message, ...extra }, request_id: 'req_011CSHoEeqs5C35K2UUqR7Fy' });

describe('classifyAnthropicError', () => {
  it.each([
    [529, body('overloaded_error', 'Overloaded'), 'provider_internal'],
    [500, body('api_error', 'Internal server error'), 'provider_internal'],
    [429, body('rate_limit_error', 'Number of request tokens has exceeded your per-minute rate limit'), 'rate_limited'],
    [429, body('rate_limit_error', 'You have reached your spend limit', { details: { error_code: 'enforced_spend_limit_reached' } }), 'quota'],
    [400, body('invalid_request_error', 'Your credit balance is too low to access the Anthropic API.'), 'quota'],
    [401, body('authentication_error', 'invalid x-api-key'), 'auth'],
    [403, body('permission_error', 'Your API key does not have permission to use the specified resource.'), 'auth'],
    [404, body('not_found_error', 'model: claude-nope'), 'not_found'],
    [404, '', 'endpoint_not_found'],
    [404, '<html><head><title>404 Not Found</title></head></html>', 'endpoint_not_found'],
    [404, body('not_found_error', 'Not Found'), 'endpoint_not_found'],
    [400, body('invalid_request_error', 'messages: roles must alternate'), 'invalid_request'],
    [400, body('invalid_request_error', 'prompt is too long: 210000 tokens > 200000 maximum'), 'context_length'],
    [413, body('request_too_large', 'Request exceeds the maximum allowed number of bytes.'), 'invalid_request'],
    [502, '<html>Bad gateway</html>', 'provider_internal'],
  ])('%i %s → %s', (status, text, reason) => {
    expect(classifyAnthropicError(status, text, {}, 'anthropic').reason).toBe(reason);
  });

  it('keeps the message and a type OpenAI clients know, and reads retry-after', () => {
    const error = classifyAnthropicError(429, body('rate_limit_error', 'slow down'), { 'retry-after': '3' }, 'anthropic');
    expect(error).toMatchObject({ status: 429, upstreamMessage: 'slow down', upstreamType: 'rate_limit_error', retryAfterMs: 3000, provider: 'anthropic' });
    const tooLarge = classifyAnthropicError(413, body('request_too_large', 'too big'), {}, 'anthropic');
    expect(tooLarge.upstreamType).toBe('invalid_request_error');
    const tooLong = classifyAnthropicError(400, body('invalid_request_error', 'prompt is too long'), {}, 'anthropic');
    expect(tooLong.upstreamCode).toBe('context_length_exceeded');
  });

  it('classifies a stream error event by its type', () => {
    expect(classifyAnthropicStreamError({ type: 'overloaded_error', message: 'Overloaded' }, 'anthropic')).toMatchObject({ reason: 'provider_internal', status: 529 });
    expect(classifyAnthropicStreamError({ type: 'rate_limit_error', message: 'x' }, 'anthropic')).toMatchObject({ reason: 'rate_limited', status: 429 });
    expect(classifyAnthropicStreamError(undefined, 'anthropic')).toMatchObject({ reason: 'provider_internal', status: 500 });
  });
});
