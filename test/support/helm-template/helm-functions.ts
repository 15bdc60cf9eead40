import { stringify as stringifyYaml } from 'yaml';
import { TemplateError } from './template-error.js';
import type { TemplateFunction } from './template-function.js';
import type { TemplateValue } from './template-syntax.js';

/** Helm's toYaml: sigs.k8s.io/yaml (YAML 1.1 quoting, sorted keys, unindented sequences), no final newline. */
function helmToYaml(value: TemplateValue): string {
  return stringifyYaml(value ?? null, { version: '1.1', sortMapEntries: true, indentSeq: false, lineWidth: 0 }).replace(/\n$/, '');
}

/** The functions Helm adds to Sprig's (helm.sh/helm/v3/pkg/engine/funcs.go). */
export const helmFunctions: Record<string, TemplateFunction> = {
  include: ({ args, text, include }) => include(text(0), args[1]),
  // Helm strips "<no value>" from tpl's output as from a whole file's.
  tpl: ({ args, text, renderString }) => renderString(text(0), args[1]).replaceAll('<no value>', ''),
  required: ({ args, text, where }) => {
    const value = args[1];
    if (value === null || value === undefined || value === '') throw new TemplateError(`${where}: ${text(0)}`);
    return value;
  },
  fail: ({ text, where }) => {
    throw new TemplateError(`${where}: ${text(0)}`);
  },
  toYaml: ({ args }) => helmToYaml(args[0]),
  toJson: ({ args }) => JSON.stringify(args[0] ?? null),
};
