import { createHash } from 'node:crypto';
import { stringValue } from './go-print.js';
import { isEmpty, isMap, isTrue, toInt } from './go-value-rules.js';
import type { FunctionCall, TemplateFunction } from './template-function.js';
import type { TemplateValue } from './template-syntax.js';

/** Sprig's indent: every line, the first included, gets `count` spaces. */
const indent = (count: number, text: string) => `${' '.repeat(count)}${text.replaceAll('\n', `\n${' '.repeat(count)}`)}`;

/**
 * The Sprig functions (github.com/Masterminds/sprig/v3) the chart uses, each following Sprig's
 * source — argument order included: Sprig puts the subject last so it can be piped.
 */
export const sprigFunctions: Record<string, TemplateFunction> = {
  default: ({ args }) => (args.length < 2 || isEmpty(args[1]) ? args[0] : args[1]),
  empty: ({ args }) => isEmpty(args[0]),
  ternary: ({ args }) => (isTrue(args[2]) ? args[0] : args[1]),
  quote: ({ args }) => args.filter((value) => value !== null && value !== undefined).map((value) => JSON.stringify(stringValue(value))).join(' '),
  squote: ({ args }) => args.filter((value) => value !== null && value !== undefined).map((value) => `'${stringValue(value)}'`).join(' '),
  // Annotated: as a key, `toString` takes its contextual type from Object.prototype, not the record.
  toString: ({ args }: FunctionCall) => stringValue(args[0]),
  int: ({ args }) => toInt(args[0]),
  int64: ({ args }) => toInt(args[0]),
  add: ({ args }) => args.reduce<number>((sum, value) => sum + toInt(value), 0),
  sub: ({ args }) => toInt(args[0]) - toInt(args[1]),
  mul: ({ args }) => args.reduce<number>((product, value) => product * toInt(value), 1),
  div: ({ args }) => Math.trunc(toInt(args[0]) / toInt(args[1])),
  trunc: ({ args, text }) => {
    const count = toInt(args[0]);
    const value = text(1);
    if (count < 0 && value.length + count > 0) return value.slice(value.length + count);
    return count >= 0 && value.length > count ? value.slice(0, count) : value;
  },
  trimSuffix: ({ text }) => (text(1).endsWith(text(0)) ? text(1).slice(0, text(1).length - text(0).length) : text(1)),
  trimPrefix: ({ text }) => (text(1).startsWith(text(0)) ? text(1).slice(text(0).length) : text(1)),
  trim: ({ text }) => text(0).trim(),
  replace: ({ text }) => text(2).split(text(0)).join(text(1)),
  contains: ({ text }) => text(1).includes(text(0)),
  hasPrefix: ({ text }) => text(1).startsWith(text(0)),
  hasSuffix: ({ text }) => text(1).endsWith(text(0)),
  lower: ({ text }) => text(0).toLowerCase(),
  upper: ({ text }) => text(0).toUpperCase(),
  indent: ({ args, text }) => indent(toInt(args[0]), text(1)),
  nindent: ({ args, text }) => `\n${indent(toInt(args[0]), text(1))}`,
  sha256sum: ({ text }) => createHash('sha256').update(text(0)).digest('hex'),
  b64enc: ({ text }) => Buffer.from(text(0)).toString('base64'),
  list: ({ args }) => args,
  dict: ({ args }) => {
    const result: Record<string, TemplateValue> = {};
    for (let index = 0; index + 1 < args.length; index += 2) result[stringValue(args[index])] = args[index + 1];
    return result;
  },
  hasKey: ({ args, text }) => isMap(args[0]) && Object.prototype.hasOwnProperty.call(args[0], text(1)),
};
