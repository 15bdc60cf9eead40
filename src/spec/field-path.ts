/**
 * A JSON pointer (`/messages/0/role`) as people write field names (`messages[0].role`), the way
 * OpenAI names a `param`; `extra` is appended (a missing property's name). Empty for the root.
 */
export function fieldPath(pointer: string, extra?: string): string {
  const segments = pointer.split('/').filter((segment) => segment !== '');
  if (extra !== undefined) segments.push(extra);
  return segments.reduce((name, segment) => (/^\d+$/.test(segment) ? `${name}[${segment}]` : name === '' ? segment : `${name}.${segment}`), '');
}
