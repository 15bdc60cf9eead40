import { describe, expect, it } from 'vitest';
import { addressKey, SignInThrottle } from './sign-in-throttle.js';

describe('SignInThrottle', () => {
  const clock = { now: 1_000_000 };
  const throttle = (options: { maxAddresses?: number } = {}) => new SignInThrottle({ maxFailures: 3, windowMs: 60_000, now: () => clock.now, ...options });

  it('refuses an address from its limit until a window after its first failure, and then forgets it', () => {
    const limits: Array<string | undefined> = [];
    const subject = new SignInThrottle({ maxFailures: 3, windowMs: 60_000, now: () => clock.now, onLimit: (address) => limits.push(address) });
    expect(subject.refusing).toBe(false);
    expect([subject.fail('192.0.2.1'), subject.fail('192.0.2.1')]).toEqual([false, false]);
    expect(subject.wait('192.0.2.1')).toBeUndefined();
    clock.now += 20_000;
    expect(subject.fail('192.0.2.1')).toBe(true);
    expect(limits).toEqual(['192.0.2.1']);
    expect(subject.refusing).toBe(true);
    expect(subject.wait('192.0.2.1')).toBe(40);
    expect(subject.wait('192.0.2.2')).toBeUndefined();
    clock.now += 40_000;
    expect(subject.refusing).toBe(false);
    expect(subject.wait('192.0.2.1')).toBeUndefined();
    expect(subject.fail('192.0.2.1')).toBe(false);
  });

  it('remembers a bounded number of addresses, forgetting the one that failed longest ago', () => {
    const subject = throttle({ maxAddresses: 2 });
    for (let failure = 0; failure < 3; failure++) subject.fail('192.0.2.1');
    subject.fail('192.0.2.2');
    subject.fail('192.0.2.3');
    expect(subject.wait('192.0.2.1')).toBeUndefined();
    for (let failure = 0; failure < 2; failure++) subject.fail('192.0.2.2');
    subject.fail('192.0.2.4');
    // 192.0.2.3 failed longest ago: it went, 192.0.2.2 stays refused.
    expect(subject.wait('192.0.2.2')).toBeGreaterThan(0);
  });

  it('counts an IPv6 address by its /64, and an IPv4-mapped one as the IPv4 address', () => {
    expect(addressKey('2001:db8:0:1::1')).toBe('2001:db8:0:1::/64');
    expect(addressKey('2001:0DB8:0000:0001:ffff:1:2:3')).toBe('2001:db8:0:1::/64');
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(addressKey('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(addressKey(undefined)).toBe('unknown');
    const subject = throttle();
    for (const host of ['1', '2', '3']) subject.fail(`2001:db8:0:1::${host}`);
    expect(subject.wait('2001:db8:0:1:abcd::9')).toBeGreaterThan(0);
    expect(subject.wait('2001:db8:0:2::1')).toBeUndefined();
  });
});
