import { TemplateError } from './template-error.js';
import type { TemplateValue } from './template-syntax.js';

/**
 * How Go's text/template and Sprig judge values: truth, emptiness, integer conversion, equality
 * and ordering. Each follows the Go source, because a chart's `if` and `default` depend on them.
 */

export const isMap = (value: TemplateValue): value is Record<string, TemplateValue> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/** Go's template truth: false, 0, nil, and empty strings, slices and maps are false. */
export function isTrue(value: TemplateValue): boolean {
  if (value === null || value === undefined) return false;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return value !== 0;
  if (typeof value === 'string' || Array.isArray(value)) return value.length > 0;
  if (isMap(value)) return Object.keys(value).length > 0;
  return true;
}

/** Sprig's empty(): the opposite of Go's truth. */
export const isEmpty = (value: TemplateValue): boolean => !isTrue(value);

/** spf13/cast ToInt, as Sprig's int/add/div use it. */
export function toInt(value: TemplateValue): number {
  if (typeof value === 'number') return Math.trunc(value);
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'string') {
    // strconv.ParseInt(s, 0, 0): 0x… hexadecimal, 0… octal, else decimal; anything else is 0.
    const trimmed = value.trim();
    if (/^[-+]?0[0-7]+$/.test(trimmed)) return Number.parseInt(trimmed, 8);
    const parsed = /^[-+]?(0x[0-9a-f]+|[0-9]+)$/i.test(trimmed) ? Number(trimmed) : Number.NaN;
    return Number.isNaN(parsed) ? 0 : parsed;
  }
  return 0;
}

/** Go's lt/le/gt/ge: numbers with numbers, strings with strings, anything else an error. */
export function goCompare(name: string, left: TemplateValue, right: TemplateValue): number {
  if (typeof left !== typeof right || (typeof left !== 'number' && typeof left !== 'string')) {
    throw new TemplateError(`error calling ${name}: incompatible types for comparison (${typeof left}, ${typeof right})`);
  }
  return left < (right as typeof left) ? -1 : left > (right as typeof left) ? 1 : 0;
}

/** Go's eq: basic values of one type (or nil); maps and slices are not comparable. */
export function goEqual(left: TemplateValue, right: TemplateValue): boolean {
  const basic = (value: TemplateValue) => value === null || value === undefined || ['string', 'number', 'boolean'].includes(typeof value);
  if (!basic(left) || !basic(right)) throw new TemplateError('error calling eq: non-comparable type');
  if (left === null || left === undefined || right === null || right === undefined) return (left ?? null) === (right ?? null);
  if (typeof left !== typeof right) throw new TemplateError(`error calling eq: incompatible types for comparison (${typeof left}, ${typeof right})`);
  return left === right;
}
