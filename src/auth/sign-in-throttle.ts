import { RelayError } from '../spec/relay-error.js';

export interface SignInThrottleOptions {
  /** Failed attempts an address may make in a window; the next ones are refused until it ends (10). */
  maxFailures?: number;
  /** The window, from an address's first failure (60 s). */
  windowMs?: number;
  /** Addresses remembered at most; the one that failed longest ago is forgotten first (10 000). */
  maxAddresses?: number;
  /** Told of an address as it reaches the limit (once per window). */
  onLimit?: (address: string | undefined) => void;
  now?: () => number;
}

interface Failures {
  count: number;
  since: number;
}

/**
 * Slows down whoever guesses keys: an address that presented `maxFailures` wrong keys within a
 * window is refused (`wait`) until the window, which starts at its first failure, is over — its
 * right key included, else the refusal would tell a right guess from a wrong one. Successful
 * sign-ins count for nothing. In memory, per process, with at most `maxAddresses` addresses
 * remembered. IPv6 addresses count by their /64, which one client usually holds whole.
 */
export class SignInThrottle {
  readonly maxFailures: number;
  private readonly windowMs: number;
  private readonly maxAddresses: number;
  private readonly now: () => number;
  private readonly onLimit: ((address: string | undefined) => void) | undefined;
  private readonly failures = new Map<string, Failures>();
  /** Until when some address may be refused: while it is past, no address needs looking up. */
  private refusingUntil = 0;

  constructor(options: SignInThrottleOptions = {}) {
    this.maxFailures = options.maxFailures ?? 10;
    this.windowMs = options.windowMs ?? 60_000;
    this.maxAddresses = options.maxAddresses ?? 10_000;
    this.now = options.now ?? (() => Date.now());
    this.onLimit = options.onLimit;
  }

  /** Whether any address may be refused now; when not, `wait` is undefined for every address. */
  get refusing(): boolean {
    return this.refusingUntil !== 0 && this.refusingUntil > this.now();
  }

  /** Seconds before `address` may try again, or undefined when it may try now. */
  wait(address: string | undefined): number | undefined {
    if (!this.refusing) return undefined;
    const key = addressKey(address);
    const record = this.failures.get(key);
    if (record === undefined || record.count < this.maxFailures) return undefined;
    const left = record.since + this.windowMs - this.now();
    if (left > 0) return Math.ceil(left / 1000);
    this.failures.delete(key);
    return undefined;
  }

  /** Counts a wrong key from `address`; true when it was the one that reached the limit (its next attempts are refused). */
  fail(address: string | undefined): boolean {
    const reached = this.count(address);
    if (reached) this.onLimit?.(address);
    return reached;
  }

  private count(address: string | undefined): boolean {
    const key = addressKey(address);
    const now = this.now();
    let record = this.failures.get(key);
    if (record === undefined || now >= record.since + this.windowMs) record = { count: 0, since: now };
    // Kept in the order of their last failure: the first is the one to forget.
    this.failures.delete(key);
    this.failures.set(key, record);
    if (this.failures.size > this.maxAddresses) this.failures.delete(this.failures.keys().next().value!);
    record.count++;
    if (record.count !== this.maxFailures) return false;
    this.refusingUntil = Math.max(this.refusingUntil, record.since + this.windowMs);
    return true;
  }
}

/** The refusal of an attempt from an address that failed too often: 429 with `retry-after`. */
export function signInThrottled(seconds: number, maxFailures: number): RelayError {
  return new RelayError(
    `Too many failed sign-ins from your address: ${maxFailures} wrong keys within a minute. Any key from it is refused for ${seconds} s more; then retry with the right key (the admin API and the dashboard take RELAY_MASTER_KEY).`,
    // The SDKs' own retries would only wait and fail again (or keep a wrong key's caller waiting a minute to learn it is wrong).
    { status: 429, type: 'rate_limit_error', code: 'too_many_failed_sign_ins', headers: { 'retry-after': String(seconds), 'x-should-retry': 'false' } },
  );
}

/**
 * What an address counts as: an IPv4 address (also written IPv4-mapped, `::ffff:1.2.3.4`) as it
 * is, an IPv6 address by its first 64 bits.
 */
export function addressKey(address: string | undefined): string {
  if (address === undefined || address === '') return 'unknown';
  if (!address.includes(':')) return address;
  const bare = address.split('%')[0]!.toLowerCase();
  if (bare.startsWith('::ffff:') && bare.includes('.')) return bare.slice(7);
  const [head = '', tail] = bare.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? headGroups : [...headGroups, ...new Array<string>(Math.max(0, 8 - headGroups.length - tailGroups.length)).fill('0'), ...tailGroups];
  return `${groups
    .slice(0, 4)
    .map((group) => group.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}
