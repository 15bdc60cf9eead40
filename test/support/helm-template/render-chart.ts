import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ajvProblems, compileJsonSchema, type JsonSchemaValidator } from '../kubernetes-validation/json-schema.js';
import type { KubeObject } from '../kubernetes-validation/kube-object.js';
import { parseManifests } from '../kubernetes-validation/parse-manifests.js';
import { mergeValues } from './merge-values.js';
import { TemplateError } from './template-error.js';
import { TemplateEvaluator } from './template-evaluator.js';

export interface RenderChartOptions {
  /** User values, merged over the chart's values.yaml as `-f overrides.yaml` would be. */
  values?: Record<string, unknown>;
  releaseName: string;
  namespace: string;
}

export interface RenderedChart {
  objects: KubeObject[];
  /** NOTES.txt as `helm install` prints it ('' when the chart has none). */
  notes: string;
}

/** Compiled once per chart: Ajv compilation is the slow part of a render. */
const valuesValidators = new Map<string, JsonSchemaValidator | undefined>();

function valuesValidatorOf(chartDir: string): JsonSchemaValidator | undefined {
  if (!valuesValidators.has(chartDir)) {
    const schemaFile = join(chartDir, 'values.schema.json');
    valuesValidators.set(chartDir, existsSync(schemaFile) ? compileJsonSchema(JSON.parse(readFileSync(schemaFile, 'utf8')) as object) : undefined);
  }
  return valuesValidators.get(chartDir);
}

/**
 * `helm template <releaseName> <chartDir> -n <namespace> -f values`: the merged values are checked
 * against values.schema.json (when the chart has one), every file in templates/ is parsed into one
 * template set (so {{define}}s are shared), and every file not starting with "_" is executed and
 * split into YAML documents; NOTES.txt is rendered too, as `helm install` does. Every problem —
 * values refused, `fail`, `required`, an unsupported function — is thrown as a TemplateError.
 */
export function renderChart(chartDir: string, options: RenderChartOptions): RenderedChart {
  const chart = parseYaml(readFileSync(join(chartDir, 'Chart.yaml'), 'utf8')) as Record<string, unknown>;
  const values = mergeValues(parseYaml(readFileSync(join(chartDir, 'values.yaml'), 'utf8')) ?? {}, options.values ?? {}) as Record<string, unknown>;
  const validateValues = valuesValidatorOf(chartDir);
  if (validateValues && !validateValues(values)) {
    throw new TemplateError(`values don't meet the specifications of the schema: ${ajvProblems(validateValues.errors).join('; ')}`);
  }
  const chartName = chart.name as string;
  const evaluator = new TemplateEvaluator(chartName);
  const files = readdirSync(join(chartDir, 'templates')).sort();
  const basePath = `${chartName}/templates`;
  for (const file of files) evaluator.addTemplate(`${basePath}/${file}`, readFileSync(join(chartDir, 'templates', file), 'utf8'));
  // Helm exposes Chart.yaml's fields capitalised: .Chart.Name, .Chart.AppVersion.
  const capitalized = Object.fromEntries(Object.entries(chart).map(([key, value]) => [key[0]!.toUpperCase() + key.slice(1), value]));
  const top = (file: string) => ({
    Values: values,
    Chart: capitalized,
    Release: { Name: options.releaseName, Namespace: options.namespace, Service: 'Helm', IsInstall: true, IsUpgrade: false, Revision: 1 },
    Capabilities: { KubeVersion: { Version: 'v1.30.0', Major: '1', Minor: '30' } },
    Template: { Name: `${basePath}/${file}`, BasePath: basePath },
  });
  const objects: KubeObject[] = [];
  let notes = '';
  for (const file of files.filter((candidate) => !candidate.startsWith('_'))) {
    // Helm removes "<no value>" (a missing key printed) from every rendered file.
    const output = evaluator.include(`${basePath}/${file}`, top(file)).replaceAll('<no value>', '');
    if (file === 'NOTES.txt') notes = output;
    else objects.push(...parseManifests(output, `${basePath}/${file}`));
  }
  return { objects, notes };
}
