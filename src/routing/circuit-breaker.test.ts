import { describe, expect, it } from 'vitest';
import { CircuitBreaker, defaultCircuitBreakerOptions } from './circuit-breaker.js';

function breakerWithClock(options = defaultCircuitBreakerOptions) {
  let now = 1_000_000;
  const breaker = new CircuitBreaker(options, () => now);
  return { breaker, advance: (milliseconds: number) => (now += milliseconds) };
}

describe('CircuitBreaker', () => {
  it('opens after consecutive failures, half-opens after the cooldown, and closes on a successful probe', () => {
    const { breaker, advance } = breakerWithClock();
    for (let index = 0; index < 4; index++) breaker.onFailure();
    expect(breaker.currentState()).toBe('closed');
    breaker.onFailure();
    expect(breaker.currentState()).toBe('open');
    expect(breaker.isAvailable()).toBe(false);
    advance(4_999);
    expect(breaker.isAvailable()).toBe(false);
    advance(1);
    expect(breaker.currentState()).toBe('half_open');
    expect(breaker.isAvailable()).toBe(true);
    breaker.onAttempt();
    expect(breaker.isAvailable()).toBe(false); // one probe at a time
    breaker.onSuccess();
    expect(breaker.currentState()).toBe('closed');
    expect(breaker.isAvailable()).toBe(true);
  });

  it('doubles the cooldown when the probe fails, up to the maximum', () => {
    const { breaker, advance } = breakerWithClock();
    for (let index = 0; index < 5; index++) breaker.onFailure();
    advance(5_000);
    breaker.onAttempt();
    breaker.onFailure();
    expect(breaker.currentState()).toBe('open');
    advance(9_999);
    expect(breaker.currentState()).toBe('open');
    advance(1);
    expect(breaker.currentState()).toBe('half_open');
    for (let ejection = 0; ejection < 10; ejection++) {
      breaker.onAttempt();
      breaker.onFailure();
      advance(300_000);
    }
    expect(breaker.currentState()).toBe('half_open'); // never longer than maxCooldownMs
  });

  it('opens when the error rate over the window is too high, even without failures in a row', () => {
    const { breaker, advance } = breakerWithClock();
    for (let index = 0; index < 20; index++) {
      // fail, fail, succeed: never five in a row, but two thirds of the window
      if (index % 3 === 2) breaker.onSuccess();
      else breaker.onFailure();
      advance(100);
    }
    expect(breaker.currentState()).toBe('open');
  });

  it('forgets failures older than the window', () => {
    const { breaker, advance } = breakerWithClock({ ...defaultCircuitBreakerOptions, consecutiveFailures: 1000 });
    for (let index = 0; index < 19; index++) breaker.onFailure();
    advance(31_000);
    breaker.onFailure();
    expect(breaker.currentState()).toBe('closed');
    expect(breaker.snapshot().requests).toBe(1);
  });

  it('cools for a retry-after without counting a failure', () => {
    const { breaker, advance } = breakerWithClock();
    breaker.coolFor(2_000);
    expect(breaker.isAvailable()).toBe(false);
    expect(breaker.currentState()).toBe('closed');
    advance(2_000);
    expect(breaker.isAvailable()).toBe(true);
  });
});
