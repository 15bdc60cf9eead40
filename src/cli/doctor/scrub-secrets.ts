import { passwordsOf } from '../../config/upstream-secrets.js';
import type { CheckResult } from './doctor-check.js';

const redacted = '[redacted]';
/** Secrets shorter than this are not searched for: replacing every "ab" would garble the report. */
const shortestSecret = 8;

/**
 * Removes secrets from a report before it is printed. Every check already avoids printing keys; this
 * is the net under them, for text that comes from elsewhere (an upstream's error message, a driver's
 * exception). Besides whole values it removes pieces of them: upstreams echo keys in part
 * ("Incorrect API key provided: sk-proj-****abcd"), and not even a prefix may be shown.
 */
export function scrubSecrets(results: CheckResult[], secrets: readonly string[]): CheckResult[] {
  const values = [...new Set(secrets.filter((secret) => secret.length >= shortestSecret))].sort((left, right) => right.length - left.length);
  const scrub = (text: string) => scrubText(text, values);
  return results.map((result) => {
    const scrubbed: CheckResult = { ...result, detail: scrub(result.detail) };
    if (result.fix !== undefined) scrubbed.fix = scrub(result.fix);
    return scrubbed;
  });
}

function scrubText(text: string, secrets: readonly string[]): string {
  let result = text;
  for (const secret of secrets) result = result.split(secret).join(redacted);
  // What an upstream may echo of a key: its start, or a masked form such as `sk-p****abcd` or
  // `sk-p...abcd`. A key's last characters alone are not searched for: they match ordinary words.
  const prefixes = secrets.filter((secret) => secret.length >= 16).map((secret) => secret.slice(0, 6));
  return result.replace(/[^\s"'`,;()<>[\]{}]+/g, (token) => {
    if (token === redacted) return token;
    // `user:***@host` is the doctor's own masking of a URL's password, not an echoed key.
    if (/\*{3,}|\w(\.{3}|…)\w/.test(token) && !/:\*{3}@/.test(token) && token.length >= 8) return redacted;
    return prefixes.some((prefix) => token.includes(prefix)) ? redacted : token;
  });
}

/**
 * Every value in the environment and configuration that must never be printed: upstream keys (the
 * providers' and the deployments' own), the master key, anything in a variable named like a secret,
 * and the passwords of the database and Redis URLs.
 */
export function collectSecrets(environment: NodeJS.ProcessEnv, extra: readonly (string | undefined)[]): string[] {
  const secrets: string[] = [];
  for (const [name, value] of Object.entries(environment)) {
    if (value === undefined || value.trim() === '') continue;
    if (/(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIALS?)$/i.test(name)) secrets.push(value.trim(), value);
    if (/^(DATABASE_URL|REDIS_URL)$/.test(name)) secrets.push(...passwordsOf(value.trim()));
  }
  for (const value of extra) if (value !== undefined && value !== '') secrets.push(value);
  return secrets;
}

