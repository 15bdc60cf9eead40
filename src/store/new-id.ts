import { randomBytes } from 'node:crypto';

/**
 * A new identifier such as `acct_3kq9…`: a prefix that says what it names, then 16 random bytes in
 * base64url (128 bits, so ids made on different replicas never collide).
 */
export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(16).toString('base64url')}`;
}
