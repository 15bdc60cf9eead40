/**
 * Applies an RFC 6902 JSON Patch's add, replace and remove operations — what Kustomize's `patches`
 * do with one — to a copy of `document`. Paths must exist as RFC 6902 requires (an add's parent).
 */
export function applyJsonPatch<T>(document: T, operations: Array<{ op: string; path: string; value?: unknown }>): T {
  const copy = structuredClone(document) as any;
  for (const { op, path, value } of operations) {
    const keys = path.split('/').slice(1).map((key) => key.replaceAll('~1', '/').replaceAll('~0', '~'));
    const last = keys.pop();
    if (last === undefined) throw new Error(`${op} ${path}: the whole document cannot be patched here`);
    let parent = copy;
    for (const key of keys) {
      parent = parent?.[Array.isArray(parent) ? Number(key) : key];
      if (parent === undefined || parent === null || typeof parent !== 'object') throw new Error(`${op} ${path}: no ${key}`);
    }
    const isArray = Array.isArray(parent);
    const index = last === '-' ? parent.length : Number(last);
    const exists = isArray ? index < parent.length : Object.hasOwn(parent, last);
    if (op !== 'add' && !exists) throw new Error(`${op} ${path}: nothing there`);
    if (op === 'remove') {
      if (isArray) parent.splice(index, 1);
      else delete parent[last];
    } else if (op === 'replace') {
      parent[isArray ? index : last] = structuredClone(value);
    } else if (op === 'add') {
      if (isArray) parent.splice(index, 0, structuredClone(value));
      else parent[last] = structuredClone(value);
    } else {
      throw new Error(`${op} ${path}: unsupported operation`);
    }
  }
  return copy as T;
}
