/**
 * The Go text/template + Helm engine on its own: the parts where a home-made renderer most easily
 * differs from Go and Helm (trim markers, scoping, else branches, pipelines' argument order,
 * include + nindent, failures), and renderChart on a small chart written to a temporary directory.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderChart } from './render-chart.js';
import { TemplateError } from './template-error.js';
import { TemplateEvaluator } from './template-evaluator.js';

/** Renders one template source on `data`, with the given `{{define}}` sources loaded first. */
function run(source: string, data: unknown, ...helpers: string[]): string {
  const evaluator = new TemplateEvaluator('test');
  helpers.forEach((helper, index) => evaluator.addTemplate(`_helpers${index}.tpl`, helper));
  evaluator.addTemplate('t', source);
  return evaluator.include('t', data);
}

/** Writes a chart (Chart.yaml, values.yaml, templates/…) to a temporary directory. */
function writeChart(files: Record<string, string>): string {
  const chartDir = mkdtempSync(join(tmpdir(), 'helm-template-'));
  mkdirSync(join(chartDir, 'templates'));
  for (const [file, text] of Object.entries({ 'Chart.yaml': 'apiVersion: v2\nname: demo\nversion: 0.1.0\nappVersion: "1.2.3"\n', ...files })) {
    writeFileSync(join(chartDir, file), text);
  }
  return chartDir;
}

describe('helm-template', () => {
  it('renders Go template semantics the way Go does (trim markers, scoping, else-if, range, missing keys)', () => {
    expect(run('a  {{- "b" -}}  c', {})).toBe('abc');
    expect(run('{{/* comment */}}x{{- /* trimmed */ -}} y', {})).toBe('xy');
    expect(run('{{ if .a }}A{{ else if .b }}B{{ else }}C{{ end }}', { b: 1 })).toBe('B');
    expect(run('{{ range $k, $v := . }}{{ $k }}={{ $v }};{{ end }}', { b: 2, a: 1 })).toBe('a=1;b=2;');
    expect(run('{{ range . }}{{ . }}{{ else }}none{{ end }}', [])).toBe('none');
    expect(run('{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ $y := 3 }}{{ end }}{{ $x }}', {})).toBe('2');
    expect(run('{{ .missing }}|{{ .a.b }}', { a: {} })).toBe('<no value>|<no value>');
    expect(() => run('{{ .missing.child }}', {})).toThrow(/nil pointer/);
    expect(run('{{ with .a }}{{ .b }}{{ end }}{{ with .z }}no{{ else }}else{{ end }}', { a: { b: 'in' } })).toBe('inelse');
    expect(run('{{ (index .list 1).name | upper | quote }}', { list: [{ name: 'x' }, { name: 'y' }] })).toBe('"Y"');
    expect(run('{{ and 1 0 "x" }}-{{ or 0 "" "z" }}-{{ default "d" "" }}-{{ default "d" false }}', {})).toBe('0-z-d-d');
    expect(run('{{ toYaml . | nindent 2 }}', { b: ['x', 'off'], a: 1 })).toBe('\n  a: 1\n  b:\n  - x\n  - "off"');
    expect(run('{{ printf "%s-%d" "a" 3 | trunc 3 }}{{ "x-" | trimSuffix "-" }}', {})).toBe('a-3x');
    expect(() => run('{{ nosuchfunction }}', {})).toThrow(/not defined/);
  });

  it('trims white space, newlines included, only on the side of the marker', () => {
    expect(run('items:\n  {{- range . }}\n  - {{ . }}\n  {{- end }}\n', ['a', 'b'])).toBe('items:\n  - a\n  - b\n');
    expect(run('x\n\n{{- "y" }}\n\nz', {})).toBe('xy\n\nz');
    expect(run('x\n\n{{ "y" -}}\n\nz', {})).toBe('x\n\nyz');
    // Without a space after it, the dash is a minus sign: Go reads {{-3}} as the number -3.
    expect(run('a {{-3}} b', {})).toBe('a -3 b');
    expect(run('{{ "}}" }}', {})).toBe('}}');
  });

  it('gives with and range their own dot, keeps $ at the root, and scopes variables to their block', () => {
    const data = { name: 'root', items: { b: { n: 2 }, a: { n: 1 } } };
    expect(run('{{ range $key, $item := .items }}{{ $key }}{{ $item.n }}{{ $.name }} {{ end }}', data)).toBe('a1root b2root ');
    expect(run('{{ range $index, $item := list "x" "y" }}{{ $index }}{{ $item }}{{ end }}', {})).toBe('0x1y');
    expect(run('{{ range 3 }}{{ . }}{{ end }}', {})).toBe('012');
    expect(run('{{ range .none }}x{{ else }}empty{{ end }}', {})).toBe('empty');
    expect(run('{{ with .items.a }}{{ .n }}/{{ $.name }}{{ end }}', data)).toBe('1/root');
    expect(run('{{ with 0 }}zero{{ else with "" }}blank{{ else }}neither{{ end }}', {})).toBe('neither');
    expect(() => run('{{ if true }}{{ $inner := 1 }}{{ end }}{{ $inner }}', {})).toThrow(/undefined variable \$inner/);
    expect(() => run('{{ range "text" }}{{ end }}', {})).toThrow(/can't iterate/);
  });

  it('pipes the previous value in as the last argument, with Go and Sprig semantics', () => {
    expect(run('{{ "a" | printf "%s-%s" "b" }}', {})).toBe('b-a');
    expect(run('{{ .port | toString | quote }}', { port: 8080 })).toBe('"8080"');
    expect(run('{{ .replicas | default 3 | int | add 1 }}', {})).toBe('4');
    expect(run('{{ div (mul .ms 3) 1000 }}-{{ "017" | int }}-{{ "0x1f" | int }}', { ms: 5000 })).toBe('15-15-31');
    expect(run('{{ if and .a (not .b) }}yes{{ end }}', { a: true, b: false })).toBe('yes');
    expect(run('{{ eq .kind "Deployment" "StatefulSet" }}/{{ gt 2 1 }}/{{ len .list }}', { kind: 'StatefulSet', list: [1, 2] })).toBe('true/true/2');
    expect(run('{{ print 1 2 "a" 3 }}', {})).toBe('1 2a3');
    expect(() => run('{{ eq 1 "1" }}', {})).toThrow(/incompatible types/);
    expect(() => run('{{ 1000000 }}', {})).toThrow(/1e\+06/);
  });

  it('includes defines with their own dot, and indents the result with nindent', () => {
    const helpers = '{{- define "labels" -}}\napp: {{ .name }}\ntier: {{ .tier | default "web" }}\n{{- end }}';
    expect(run('metadata:\n  labels:\n    {{- include "labels" . | nindent 4 }}\n', { name: 'relay' }, helpers)).toBe(
      'metadata:\n  labels:\n    app: relay\n    tier: web\n',
    );
    expect(run('{{ include "labels" (dict "name" "x" "tier" "db") | indent 2 }}', {}, helpers)).toBe('  app: x\n  tier: db');
    expect(run('{{ template "labels" . }}', { name: 'y' }, helpers)).toBe('app: y\ntier: web');
    expect(run('{{ tpl .text . }}', { text: 'hello {{ .who }}{{ .none }}', who: 'world' })).toBe('hello world');
    expect(() => run('{{ include "missing" . }}', {})).toThrow(/no template "missing"/);
    expect(() => run('{{ include "loop" . }}', {}, '{{ define "loop" }}{{ include "loop" . }}{{ end }}')).toThrow(/nests too deep/);
  });

  it('fails the way Helm does: required, fail, unsupported functions and syntax', () => {
    expect(run('{{ required "name is required" .name }}', { name: 'x' })).toBe('x');
    expect(() => run('{{ required "name is required" .name }}', {})).toThrow(TemplateError);
    expect(() => run('{{ required "name is required" .name }}', { name: '' })).toThrow(/test: name is required/);
    expect(() => run('{{ if .bad }}{{ fail "bad settings" }}{{ end }}', { bad: true })).toThrow(/bad settings/);
    expect(run('{{ if .bad }}{{ fail "bad settings" }}{{ end }}ok', { bad: false })).toBe('ok');
    expect(() => run('{{ lookup "v1" "Secret" "ns" "name" }}', {})).toThrow(/function "lookup" not defined/);
    expect(() => run('{{ "x" | constructor }}', {})).toThrow(/not defined/);
    expect(() => run('{{ block "b" . }}{{ end }}', {})).toThrow(/not supported/);
    expect(() => run('{{ if true }}never closed', {})).toThrow(/missing \{\{end\}\}/);
    expect(() => run('{{ end }}', {})).toThrow(/unexpected \{\{end\}\}/);
    expect(() => run('{{ .a', {})).toThrow(/unclosed action/);
    expect(() => run('{{ upper 1 }}', {})).toThrow(/upper expects a string/);
  });

  it('renders a chart: merged values, shared defines, "<no value>" removed, NOTES.txt, values schema', () => {
    const chartDir = writeChart({
      'values.yaml': 'replicas: 2\nimage:\n  repository: example/demo\n  tag: ""\nextra:\n  keep: true\n',
      'values.schema.json': JSON.stringify({ type: 'object', properties: { replicas: { type: 'integer', minimum: 1 } } }),
      'templates/_helpers.tpl': '{{- define "demo.fullname" -}}{{ .Release.Name }}-{{ .Chart.Name }}{{- end }}',
      'templates/deployment.yaml': [
        'apiVersion: apps/v1',
        'kind: Deployment',
        'metadata:',
        '  name: {{ include "demo.fullname" . }}',
        '  namespace: {{ .Release.Namespace }}',
        '  annotations:',
        '    missing: "{{ .Values.missing }}"',
        '    extra: {{ .Values.extra | toJson | quote }}',
        'spec:',
        '  replicas: {{ .Values.replicas }}',
        '  template:',
        '    spec:',
        '      containers:',
        '        - name: demo',
        '          image: {{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}',
        '',
      ].join('\n'),
      'templates/NOTES.txt': 'Installed {{ include "demo.fullname" . }} in {{ .Release.Namespace }}.',
    });
    const rendered = renderChart(chartDir, { values: { replicas: 5, extra: null }, releaseName: 'prod', namespace: 'apps' });
    expect(rendered.objects).toEqual([
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'prod-demo', namespace: 'apps', annotations: { missing: '', extra: 'null' } },
        spec: { replicas: 5, template: { spec: { containers: [{ name: 'demo', image: 'example/demo:1.2.3' }] } } },
      },
    ]);
    expect(rendered.notes).toBe('Installed prod-demo in apps.');
    expect(() => renderChart(chartDir, { values: { replicas: 0 }, releaseName: 'prod', namespace: 'apps' })).toThrow(
      /values don't meet the specifications of the schema: \/replicas must be >= 1/,
    );
  });
});
