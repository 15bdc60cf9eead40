/** Values shorter than this are not searched for: replacing every "none" or "ab" would garble text for nothing. */
export const shortestSecret = 8;

/** What stands in for a secret that was removed. */
export const redactedMark = '[REDACTED]';

/**
 * The secrets worth searching for, longest first (a key that contains another is replaced whole),
 * without repeats or short values. Built once per configuration, not per line.
 */
export function searchableSecrets(secrets: readonly string[]): string[] {
  return [...new Set(secrets.filter((secret) => secret.length >= shortestSecret))].sort((left, right) => right.length - left.length);
}

/** `text` with every occurrence of each secret (as given by `searchableSecrets`) replaced by `[REDACTED]`. */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  let result = text;
  for (const secret of secrets) if (result.includes(secret)) result = result.split(secret).join(redactedMark);
  return result;
}
