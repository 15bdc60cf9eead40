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
    for (let index = 0; index < 4; index++) breaker.onFailure(breaker.onAttempt());
    expect(breaker.currentState()).toBe('closed');
    breaker.onFailure(breaker.onAttempt());
    expect(breaker.currentState()).toBe('open');
    expect(breaker.isAvailable()).toBe(false);
    advance(4_999);
    expect(breaker.isAvailable()).toBe(false);
    advance(1);
    expect(breaker.currentState()).toBe('half_open');
    expect(breaker.isAvailable()).toBe(true);
    const probe = breaker.onAttempt();
    expect(breaker.isAvailable()).toBe(false); // one probe at a time
    breaker.onSuccess(probe);
    expect(breaker.currentState()).toBe('closed');
    expect(breaker.isAvailable()).toBe(true);
  });

  it('doubles the cooldown when the probe fails, up to the maximum', () => {
    const { breaker, advance } = breakerWithClock();
    for (let index = 0; index < 5; index++) breaker.onFailure(breaker.onAttempt());
    advance(5_000);
    breaker.onFailure(breaker.onAttempt());
    expect(breaker.currentState()).toBe('open');
    advance(9_999);
    expect(breaker.currentState()).toBe('open');
    advance(1);
    expect(breaker.currentState()).toBe('half_open');
    for (let ejection = 0; ejection < 10; ejection++) {
      breaker.onFailure(breaker.onAttempt());
      advance(300_000);
    }
    expect(breaker.currentState()).toBe('half_open'); // never longer than maxCooldownMs
  });

  it('opens when the error rate over the window is too high, even without failures in a row', () => {
    const { breaker, advance } = breakerWithClock();
    for (let index = 0; index < 20; index++) {
      // fail, fail, succeed: never five in a row, but two thirds of the window
      if (index % 3 === 2) breaker.onSuccess(breaker.onAttempt());
      else breaker.onFailure(breaker.onAttempt());
      advance(100);
    }
    expect(breaker.currentState()).toBe('open');
  });

  it('forgets failures older than the window', () => {
    const { breaker, advance } = breakerWithClock({ ...defaultCircuitBreakerOptions, consecutiveFailures: 1000 });
    for (let index = 0; index < 19; index++) breaker.onFailure(breaker.onAttempt());
    advance(31_000);
    breaker.onFailure(breaker.onAttempt());
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

  it('lets traffic back in when a probe\'s answer starts, and opens again at once when that answer then fails', () => {
    const { breaker, advance } = breakerWithClock();
    for (let index = 0; index < 5; index++) breaker.onFailure(breaker.onAttempt());
    advance(5_000);
    const probe = breaker.onAttempt();
    expect(breaker.isAvailable()).toBe(false);
    // The probe's stream has its first chunk: other requests need not wait for its end.
    breaker.onAnswerStarted(probe);
    expect(breaker.currentState()).toBe('closed');
    expect(breaker.isAvailable()).toBe(true);
    // Then it is cut: a failed probe, not one failure in a row. The cooldown doubles.
    breaker.onFailure(probe);
    expect(breaker.currentState()).toBe('open');
    advance(9_999);
    expect(breaker.currentState()).toBe('open');
    advance(1);
    // A probe whose stream ends whole closes the circuit for good: a later failure is one in a row.
    const next = breaker.onAttempt();
    breaker.onAnswerStarted(next);
    breaker.onSuccess(next);
    breaker.onFailure(breaker.onAttempt());
    expect(breaker.currentState()).toBe('closed');
  });

  it('counts an answer once, when it ends: answers that break after their start open it as failures before it do', () => {
    const { breaker } = breakerWithClock();
    for (let index = 0; index < 5; index++) {
      const attempt = breaker.onAttempt();
      breaker.onAnswerStarted(attempt);
      breaker.onFailure(attempt);
    }
    expect(breaker.currentState()).toBe('open');
  });

  it('leaves an ejection alone when an answer begun before it ends, well or not', () => {
    const { breaker, advance } = breakerWithClock();
    const streams = [breaker.onAttempt(), breaker.onAttempt(), breaker.onAttempt()];
    for (let index = 0; index < 5; index++) breaker.onFailure(breaker.onAttempt());
    // A stream that was under way as the deployment failed ends well: the ejection stands.
    breaker.onSuccess(streams[0]!);
    expect(breaker.currentState()).toBe('open');
    advance(5_000);
    const probe = breaker.onAttempt();
    // Nor does an earlier stream's failure fail the probe,
    breaker.onFailure(streams[1]!);
    expect(breaker.currentState()).toBe('half_open');
    // or its success end the trial of a probe whose answer has started.
    breaker.onAnswerStarted(probe);
    breaker.onSuccess(streams[2]!);
    breaker.onFailure(probe);
    expect(breaker.currentState()).toBe('open');
  });

  it('tells an ejected deployment from one cooled by a 429', () => {
    const { breaker } = breakerWithClock();
    breaker.coolFor(20_000);
    expect(breaker.isAvailable()).toBe(false);
    expect(breaker.isEjected()).toBe(false);
    breaker.ejectNow();
    expect(breaker.isEjected()).toBe(true);
  });
});
