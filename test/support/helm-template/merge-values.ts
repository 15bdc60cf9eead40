import { isMap } from './go-value-rules.js';
import type { TemplateValue } from './template-syntax.js';

/**
 * Helm's coalescing of user values over the chart's: maps merge key by key, anything else
 * replaces, and a null deletes the chart's key (how `--set key=null` turns a default off).
 */
export function mergeValues(base: TemplateValue, override: TemplateValue): TemplateValue {
  if (!isMap(base) || !isMap(override)) return structuredClone(override);
  const result: Record<string, TemplateValue> = structuredClone(base);
  for (const [key, value] of Object.entries(override)) {
    if (value === null) delete result[key];
    else result[key] = mergeValues(result[key], value);
  }
  return result;
}
