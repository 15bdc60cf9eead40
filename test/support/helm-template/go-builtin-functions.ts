import { goSprintf, goString } from './go-print.js';
import { goCompare, goEqual, isMap, isTrue } from './go-value-rules.js';
import { TemplateError } from './template-error.js';
import type { TemplateFunction } from './template-function.js';

/**
 * The functions Go's text/template itself provides (`and`/`or` are in the evaluator: they are lazy
 * and return the deciding argument, which needs the unevaluated operands).
 */
export const goBuiltinFunctions: Record<string, TemplateFunction> = {
  not: ({ args }) => !isTrue(args[0]),
  eq: ({ args }) => args.slice(1).some((other) => goEqual(args[0], other)),
  ne: ({ args }) => !goEqual(args[0], args[1]),
  lt: ({ name, args }) => goCompare(name, args[0], args[1]) < 0,
  le: ({ name, args }) => goCompare(name, args[0], args[1]) <= 0,
  gt: ({ name, args }) => goCompare(name, args[0], args[1]) > 0,
  ge: ({ name, args }) => goCompare(name, args[0], args[1]) >= 0,
  len: ({ args, where }) => {
    const value = args[0];
    if (typeof value === 'string' || Array.isArray(value)) return value.length;
    if (isMap(value)) return Object.keys(value).length;
    throw new TemplateError(`${where}: len of ${goString(value)}`);
  },
  index: ({ args, where }) => {
    let value = args[0];
    for (const key of args.slice(1)) {
      if (Array.isArray(value) && typeof key === 'number') {
        if (key < 0 || key >= value.length) throw new TemplateError(`${where}: index out of range: ${key}`);
        value = value[key];
      } else if (isMap(value) && typeof key === 'string') value = Object.prototype.hasOwnProperty.call(value, key) ? value[key] : null;
      else throw new TemplateError(`${where}: can't index ${goString(value)} with ${goString(key)}`);
    }
    return value;
  },
  // fmt.Sprint: a space only between two operands when neither is a string.
  print: ({ args }) =>
    args.map((value, index) => (index > 0 && typeof value !== 'string' && typeof args[index - 1] !== 'string' ? ' ' : '') + goString(value)).join(''),
  printf: ({ args, text }) => goSprintf(text(0), args.slice(1)),
};
