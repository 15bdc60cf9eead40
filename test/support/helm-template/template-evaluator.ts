import { goBuiltinFunctions } from './go-builtin-functions.js';
import { goString } from './go-print.js';
import { isMap, isTrue } from './go-value-rules.js';
import { helmFunctions } from './helm-functions.js';
import { parseTemplate } from './parse-template.js';
import { sprigFunctions } from './sprig-functions.js';
import { TemplateError } from './template-error.js';
import type { FunctionCall, TemplateFunction } from './template-function.js';
import type { ControlNode, Operand, Pipeline, TemplateNode, TemplateValue } from './template-syntax.js';

/** A Map, so a name like `constructor` is "not defined" rather than Object.prototype's. */
const functions = new Map<string, TemplateFunction>(Object.entries({ ...goBuiltinFunctions, ...helmFunctions, ...sprigFunctions }));

/** Dot, the root `$`, and the variable frames (one per block, as Go scopes them). */
interface Scope {
  dot: TemplateValue;
  root: TemplateValue;
  variables: Array<Map<string, TemplateValue>>;
}

/**
 * Executes parsed templates the way Go's text/template does with Helm's options: missing map keys
 * are nil (missingkey=zero, printed "<no value>"), a field of nil is an error, and every function
 * not in Go, Helm or the supported Sprig subset is an error, never a silent guess.
 */
export class TemplateEvaluator {
  /** Named templates: every `{{define}}`, and each file of a chart under its path. */
  readonly defines = new Map<string, TemplateNode[]>();
  private depth = 0;

  /** `where` names the template set (the chart) in error messages. */
  constructor(private readonly where: string) {}

  /** Parses `source` and registers it under `name`, collecting its `{{define}}`s too. */
  addTemplate(name: string, source: string): void {
    this.defines.set(name, parseTemplate(source, name, this.defines));
  }

  /** Executes a named template with `data` as dot and `$`, as `include` and `{{template}}` do. */
  include(name: string, data: TemplateValue): string {
    const nodes = this.defines.get(name);
    if (!nodes) throw new TemplateError(`${this.where}: no template "${name}"`);
    // A define that includes itself would otherwise overflow the stack with no hint.
    if (++this.depth > 100) throw new TemplateError(`${this.where}: include "${name}" nests too deep`);
    try {
      return this.execute(nodes, { dot: data, root: data, variables: [new Map()] });
    } finally {
      this.depth--;
    }
  }

  private execute(nodes: TemplateNode[], scope: Scope): string {
    let output = '';
    for (const node of nodes) {
      if (node.kind === 'text') output += node.text;
      else if (node.kind === 'action') {
        const value = this.pipeline(node.pipeline, scope);
        if (node.pipeline.declarations.length === 0) output += goString(value);
      } else if (node.kind === 'template') {
        output += this.include(node.name, node.pipeline ? this.pipeline(node.pipeline, scope) : null);
      } else if (node.kind === 'if' || node.kind === 'with') {
        scope.variables.push(new Map());
        const value = this.pipeline(node.pipeline, scope);
        if (isTrue(value)) output += this.execute(node.body, node.kind === 'with' ? { ...scope, dot: value } : scope);
        else output += this.execute(node.otherwise, scope);
        scope.variables.pop();
      } else {
        output += this.range(node, scope);
      }
    }
    return output;
  }

  /** Lists in order, maps in key order, an integer n as 0…n-1; `{{else}}` when there is nothing. */
  private range(node: ControlNode, scope: Scope): string {
    const [first, second] = node.pipeline.declarations;
    const value = this.pipeline({ ...node.pipeline, declarations: [] }, scope);
    let entries: Array<[TemplateValue, TemplateValue]>;
    if (value === null || value === undefined) entries = [];
    else if (Array.isArray(value)) entries = value.map((item, index) => [index, item]);
    else if (isMap(value)) entries = Object.keys(value).sort().map((key) => [key, value[key]]);
    else if (typeof value === 'number' && Number.isInteger(value)) entries = Array.from({ length: value }, (_, index) => [index, index]);
    else throw new TemplateError(`${this.where}: range can't iterate over ${goString(value)}`);
    if (entries.length === 0) return this.execute(node.otherwise, scope);
    let output = '';
    for (const [key, item] of entries) {
      const frame = new Map<string, TemplateValue>();
      if (first !== undefined && second !== undefined) {
        frame.set(first, key);
        frame.set(second, item);
      } else if (first !== undefined) frame.set(first, item);
      scope.variables.push(frame);
      output += this.execute(node.body, { ...scope, dot: item });
      scope.variables.pop();
    }
    return output;
  }

  private pipeline(pipeline: Pipeline, scope: Scope): TemplateValue {
    let value: TemplateValue;
    pipeline.commands.forEach((command, index) => {
      value = this.command(command, scope, index === 0 ? [] : [value]);
    });
    if (pipeline.declarations.length > 0) {
      const name = pipeline.declarations[pipeline.declarations.length - 1]!;
      if (pipeline.assign) {
        // `$x = …` changes the variable where it was declared, possibly outside this block.
        const frame = [...scope.variables].reverse().find((candidate) => candidate.has(name));
        if (!frame) throw new TemplateError(`${this.where}: undefined variable ${name}`);
        frame.set(name, value);
      } else scope.variables[scope.variables.length - 1]!.set(name, value);
    }
    return value;
  }

  private command(command: Operand[], scope: Scope, piped: TemplateValue[]): TemplateValue {
    const [head, ...rest] = command;
    if (head!.kind === 'function') return this.call(head!.name, rest, scope, piped);
    if (rest.length > 0 || piped.length > 0) throw new TemplateError(`${this.where}: can't give arguments to a non-function`);
    return this.operand(head!, scope);
  }

  private operand(operand: Operand, scope: Scope): TemplateValue {
    switch (operand.kind) {
      case 'literal':
        return operand.value;
      case 'field':
        return this.walk(scope.dot, operand.names);
      case 'variable': {
        if (operand.name === '$') return this.walk(scope.root, operand.names);
        const frame = [...scope.variables].reverse().find((candidate) => candidate.has(operand.name));
        if (!frame) throw new TemplateError(`${this.where}: undefined variable ${operand.name}`);
        return this.walk(frame.get(operand.name), operand.names);
      }
      case 'pipeline':
        return this.walk(this.pipeline(operand.pipeline, scope), operand.names);
      case 'function':
        return this.call(operand.name, [], scope, []);
    }
  }

  /** Field access with Helm's missingkey=zero: a missing key is nil, a field of nil an error. */
  private walk(value: TemplateValue, names: string[]): TemplateValue {
    let current = value;
    for (const name of names) {
      if (current === null || current === undefined) throw new TemplateError(`${this.where}: nil pointer evaluating interface {}.${name}`);
      if (!isMap(current)) throw new TemplateError(`${this.where}: can't evaluate field ${name} in ${goString(current)}`);
      current = Object.prototype.hasOwnProperty.call(current, name) ? current[name] : null;
    }
    return current;
  }

  private call(name: string, operands: Operand[], scope: Scope, piped: TemplateValue[]): TemplateValue {
    // and/or evaluate lazily and return the deciding argument, as Go's do.
    if (name === 'and' || name === 'or') {
      const values = [...operands.map((operand) => () => this.operand(operand, scope)), ...piped.map((value) => () => value)];
      let last: TemplateValue;
      for (const get of values) {
        last = get();
        if (name === 'and' ? !isTrue(last) : isTrue(last)) return last;
      }
      return last;
    }
    const implementation = functions.get(name);
    if (!implementation) throw new TemplateError(`${this.where}: function "${name}" not defined (or not supported by this renderer)`);
    const args = [...operands.map((operand) => this.operand(operand, scope)), ...piped];
    const call: FunctionCall = {
      name,
      args,
      where: this.where,
      text: (index) => {
        const value = args[index];
        if (typeof value !== 'string') throw new TemplateError(`${this.where}: ${name} expects a string, got ${goString(value)}`);
        return value;
      },
      include: (included, data) => this.include(included, data),
      renderString: (source, data) => this.renderString(source, data),
    };
    return implementation(call);
  }

  /** Helm's tpl: the string is parsed into the same set, so it can use the chart's defines. */
  private renderString(source: string, data: TemplateValue): string {
    const nodes = parseTemplate(source, `${this.where}/tpl`, this.defines);
    return this.execute(nodes, { dot: data, root: data, variables: [new Map()] });
  }
}
