import { describe, expect, it } from 'vitest';
import { RelayStoreError } from '../store/relay-store-error.js';
import { toRelayError } from './render-error.js';

describe('toRelayError', () => {
  it('answers a value the store refuses to keep with a 400, wherever it reaches the client', () => {
    const refused = toRelayError(new RelayStoreError('RELAY_STORE_INVALID', 'rpm must be at most 2147483647, got 3000000000'), 'req_1', { method: 'POST' });
    expect(refused.toJSON()).toEqual({ error: { message: 'Invalid value: rpm must be at most 2147483647, got 3000000000.', type: 'invalid_request_error', param: null, code: 'invalid_request' } });
    expect(refused.status).toBe(400);
    expect(toRelayError(new RelayStoreError('RELAY_STORE_INVALID', 'metadata must be an object or null'), 'req_2').status).toBe(400);
    // Any other refusal of the store is not the request's to fix here.
    expect(toRelayError(new RelayStoreError('RELAY_STORE_CONFLICT', 'another key has the same secret'), 'req_3', { method: 'POST' }).status).toBe(500);
  });
});
