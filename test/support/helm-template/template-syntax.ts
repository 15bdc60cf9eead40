/**
 * The parsed form of a Go text/template. Values are plain JavaScript data (what YAML parses to):
 * maps are objects, slices arrays, nil is null (or undefined for a missing key).
 */
export type TemplateValue = unknown;

/** One lexical token inside an action `{{ … }}`. */
export type Token =
  | { type: 'field'; names: string[] }
  | { type: 'variable'; name: string; names: string[] }
  /** A field chain right after `)`, as in `(index .list 1).name`. */
  | { type: 'chain'; names: string[] }
  | { type: 'identifier'; name: string }
  | { type: 'string'; value: string }
  | { type: 'number'; value: number }
  | { type: 'punctuation'; value: '(' | ')' | '|' | ',' | ':=' | '=' };

/** One argument of a command. */
export type Operand =
  | { kind: 'field'; names: string[] }
  | { kind: 'variable'; name: string; names: string[] }
  | { kind: 'function'; name: string }
  | { kind: 'literal'; value: TemplateValue }
  | { kind: 'pipeline'; pipeline: Pipeline; names: string[] };

/** `$a := f x | g` — declarations (or an assignment with `=`), then commands joined by `|`. */
export interface Pipeline {
  declarations: string[];
  assign: boolean;
  commands: Operand[][];
}

/** `{{if}}`, `{{with}}` and `{{range}}`, each with an optional `{{else}}` branch. */
export interface ControlNode {
  kind: 'if' | 'with' | 'range';
  pipeline: Pipeline;
  body: TemplateNode[];
  otherwise: TemplateNode[];
}

export type TemplateNode =
  | { kind: 'text'; text: string }
  | { kind: 'action'; pipeline: Pipeline }
  | ControlNode
  | { kind: 'template'; name: string; pipeline?: Pipeline };
