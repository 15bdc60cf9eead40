/** Where interpolation went: the paths (`server.port`, `keys[0].key`) of strings that had a `${VAR}`, and of those with one unset. */
export interface InterpolatedPaths {
  interpolated: Set<string>;
  unset: Set<string>;
}

/**
 * Replaces `${VAR}` (and `${VAR:-default}`) in every string of a parsed config file with values from
 * the environment, so secrets stay out of the file. A variable that is unset and has no default is a
 * problem reported with its path, never silently replaced by an empty string.
 */
export function interpolateEnv(
  value: unknown,
  environment: NodeJS.ProcessEnv,
  problems: string[],
  path = '',
  paths: InterpolatedPaths = { interpolated: new Set(), unset: new Set() },
): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (_match, name: string, fallback: string | undefined) => {
      paths.interpolated.add(path);
      const found = environment[name];
      if (found !== undefined && found !== '') return found;
      if (fallback !== undefined) return fallback;
      paths.unset.add(path);
      problems.push(`${path || '(root)'}: \${${name}} is not set in the environment. Set ${name}, or write \${${name}:-default}.`);
      return '';
    });
  }
  if (Array.isArray(value)) return value.map((item, index) => interpolateEnv(item, environment, problems, `${path}[${index}]`, paths));
  if (value !== null && typeof value === 'object') {
    const result: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      result[key] = interpolateEnv(item, environment, problems, path ? `${path}.${key}` : key, paths);
    }
    return result;
  }
  return value;
}
