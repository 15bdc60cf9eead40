/**
 * Compiles model globs (`gpt-*`, `claude-?-opus`, exact names) into one matcher. Only `*` and `?` are
 * special, so a model name with dots (`gpt-4.1`) matches itself literally; they match any character,
 * line breaks included (`*` covers every name, whatever it holds).
 */
export function compileGlobs(patterns: readonly string[]): (name: string) => boolean {
  if (patterns.length === 0) return () => false;
  const exact = new Set(patterns.filter((pattern) => !/[*?]/.test(pattern)));
  const wild = patterns
    .filter((pattern) => /[*?]/.test(pattern))
    .map((pattern) => new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*').replaceAll('?', '.')}$`, 's'));
  return (name) => exact.has(name) || wild.some((expression) => expression.test(name));
}
