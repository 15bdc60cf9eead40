import { describe, expect, it } from 'vitest';
import { RelayError } from '../../spec/relay-error.js';
import { renderAnthropicError } from './render-anthropic-error.js';

describe('renderAnthropicError', () => {
  it.each([
    [400, 'invalid_request_error'],
    [413, 'invalid_request_error'],
    [401, 'authentication_error'],
    [403, 'permission_error'],
    [404, 'not_found_error'],
    [429, 'rate_limit_error'],
    [500, 'api_error'],
    [502, 'api_error'],
    [504, 'api_error'],
    [529, 'overloaded_error'],
  ])('renders status %i as %s in Anthropic’s envelope', (status, type) => {
    const error = new RelayError('what went wrong', { status, type: 'server_error', code: 'x' });
    expect(renderAnthropicError(error, 'req-1')).toEqual({ type: 'error', error: { type, message: 'what went wrong' }, request_id: 'req-1' });
  });
});
