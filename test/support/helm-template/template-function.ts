import type { TemplateValue } from './template-syntax.js';

/** What a template function receives: its evaluated arguments (a piped value last) and the engine. */
export interface FunctionCall {
  name: string;
  args: TemplateValue[];
  /** The template set's name, for error messages. */
  where: string;
  /** The argument at `index`, which must be a string (Go's functions are typed). */
  text(index: number): string;
  /** Executes a `{{define}}`d template with `data` as both dot and root. */
  include(name: string, data: TemplateValue): string;
  /** Parses `source` as a template sharing the set's defines, and executes it on `data`. */
  renderString(source: string, data: TemplateValue): string;
}

export type TemplateFunction = (call: FunctionCall) => TemplateValue;
