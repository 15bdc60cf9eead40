import { describe, expect, it } from 'vitest';
import { RelayError } from '../../spec/relay-error.js';
import { renderAnthropicError } from './render-anthropic-error.js';

describe('renderAnthropicError', () => {
  it.each([
    [400, 'invalid_request_error'],
    [413, 'request_too_large'],
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

describe('renderAnthropicError for a prompt too long for the model', () => {
  const tooLong = (message: string) => renderAnthropicError(new RelayError(message, { status: 400, type: 'invalid_request_error', code: 'context_length_exceeded', reason: 'context_length' }), 'req-1').error.message;

  it.each([
    ["This model's maximum context length is 128000 tokens. However, your messages resulted in 130532 tokens. Please reduce the length of the messages.", 'prompt is too long: 130532 tokens > 128000 maximum'],
    ["This model's maximum context length is 32768 tokens. However, you requested 33000 tokens (31000 in the messages, 2000 in the completion). Please reduce the length of the messages or completion.", 'prompt is too long: 33000 tokens > 32768 maximum'],
    ['The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).', 'prompt is too long: 1200000 tokens > 1048576 maximum'],
  ])('words %j with its counts as Anthropic does, the upstream’s words after them', (upstream, anthropic) => {
    expect(tooLong(upstream)).toBe(`${anthropic} (${upstream})`);
  });

  it('puts Anthropic’s first words before a message without counts, and leaves Anthropic’s own as it is', () => {
    expect(tooLong('Your input exceeds the context window of this model. Please adjust your input and try again.')).toBe(
      'prompt is too long: Your input exceeds the context window of this model. Please adjust your input and try again.',
    );
    expect(tooLong('prompt is too long: 208310 tokens > 200000 maximum')).toBe('prompt is too long: 208310 tokens > 200000 maximum');
  });

  it('leaves other refusals in their own words', () => {
    const error = new RelayError("This model's maximum context length is 8192 tokens.", { status: 400, type: 'invalid_request_error', code: 'invalid_request', reason: 'invalid_request' });
    expect(renderAnthropicError(error, 'req-1').error.message).toBe("This model's maximum context length is 8192 tokens.");
  });
});
