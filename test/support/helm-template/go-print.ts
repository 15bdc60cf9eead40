import { isMap } from './go-value-rules.js';
import { TemplateError } from './template-error.js';
import type { TemplateValue } from './template-syntax.js';

/**
 * Go's fmt %v of a value. Values from YAML are float64 in Helm, which Go prints in exponent form
 * from 1e21 on — and from 1e6 on for integral floats ("1e+06"): refuse those rather than guess.
 */
export function goString(value: TemplateValue): string {
  if (value === null || value === undefined) return '<no value>';
  if (typeof value === 'string') return value;
  if (typeof value === 'number') {
    if (Number.isInteger(value) && Math.abs(value) >= 1e6) throw new TemplateError(`printing ${value}: Helm prints large float64 values as 1e+06; quote it in the values`);
    return String(value);
  }
  if (typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `[${value.map(goString).join(' ')}]`;
  if (isMap(value)) return `map[${Object.keys(value).sort().map((key) => `${key}:${goString(value[key])}`).join(' ')}]`;
  return String(value);
}

/** Sprig's strval: strings as they are, anything else through %v (nil as `<nil>`). */
export const stringValue = (value: TemplateValue): string => (value === null || value === undefined ? '<nil>' : goString(value));

/** Go's fmt.Sprintf for the verbs charts use: %s %v %d %q %%. */
export function goSprintf(format: string, args: TemplateValue[]): string {
  let next = 0;
  return format.replace(/%([svdq%])/g, (_match, verb: string) => {
    if (verb === '%') return '%';
    const value = args[next++];
    if (verb === 'q') return JSON.stringify(stringValue(value));
    if (verb === 'd') {
      if (typeof value !== 'number' || !Number.isInteger(value)) return `%!d(${typeof value}=${goString(value)})`;
      return String(value);
    }
    return value === null || value === undefined ? '%!s(<nil>)' : goString(value);
  });
}
