import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockOpenAIUpstream, type Behaviour } from './support/mock-openai-upstream.js';
import { masterKey, startRelay, type StartedRelay } from './support/start-relay.js';

/** The parts of Grafana's dashboard JSON model this test reads. */
interface Target {
  expr?: string;
  refId?: string;
  datasource?: { type?: string; uid?: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
  panels?: Panel[];
  fieldConfig?: { defaults?: { mappings?: Array<{ type: string; options: Record<string, { text: string }> }> } };
}
interface Variable {
  name: string;
  type: string;
  query?: string | { query?: string };
  definition?: string;
  datasource?: { uid?: string };
}
interface Dashboard {
  schemaVersion: number;
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: Variable[] };
}

const dashboard = JSON.parse(readFileSync(new URL('../deploy/grafana/relay.json', import.meta.url), 'utf8')) as Dashboard;
/** Every panel, the ones inside collapsed rows included. */
const allPanels = dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]);
const queryPanels = allPanels.filter((panel) => panel.type !== 'row');
const variableQueries = dashboard.templating.list
  .filter((variable) => variable.type === 'query')
  .map((variable) => (typeof variable.query === 'string' ? variable.query : variable.query?.query ?? variable.definition ?? ''));
/** Every PromQL expression of the dashboard: panel targets and variable queries. */
const expressions = [...queryPanels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr ?? '')), ...variableQueries];

const stringLiteral = /"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g;
const promqlKeywords = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan']);
/** Labels Prometheus attaches at scrape time, and the bucket bound. */
const scrapeLabels = new Set(['job', 'instance']);

/**
 * The metric names a PromQL expression selects: strings, label matchers, ranges, `by (…)` lists and
 * Grafana variables are removed, then every identifier that is not a function, an aggregation or a
 * keyword is a metric name. `label_values(metric, label)` yields its metric too.
 */
function metricNames(expression: string): string[] {
  const stripped = expression
    .replace(/^\s*label_values\((.*),\s*[A-Za-z_]\w*\s*\)\s*$/, '$1') // label_values(metric, label): the label is no metric
    .replace(stringLiteral, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\$\{?\w+\}?/g, ' ');
  const names = new Set<string>();
  for (const match of stripped.matchAll(/(\d+(?:\.\d+)?(?:e[+-]?\d+)?[a-z]*)|([A-Za-z_:][\w:]*)(\s*\()?/gi)) {
    const name = match[2];
    if (name === undefined || match[3] !== undefined || promqlKeywords.has(name.toLowerCase())) continue;
    names.add(name);
  }
  return [...names];
}

/** Each selector's metric name with the label names its matchers use. */
function selectors(expression: string): Array<{ name: string; labels: string[] }> {
  const found: Array<{ name: string; labels: string[] }> = [];
  for (const match of expression.matchAll(/([A-Za-z_:][\w:]*)\s*\{([^}]*)\}/g)) {
    const matchers = (match[2] ?? '').replace(stringLiteral, '""');
    found.push({ name: match[1] ?? '', labels: [...matchers.matchAll(/([A-Za-z_]\w*)\s*(?:=~|!~|!=|=)/g)].map((label) => label[1] ?? '') });
  }
  return found;
}

/** Label names in the expression's `by (…)` and `without (…)` clauses. */
function groupingLabels(expression: string): string[] {
  return [...expression.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)].flatMap((match) => (match[1] ?? '').split(',').map((label) => label.trim()).filter((label) => label !== ''));
}

/** A scrape in the text exposition format: each family's TYPE, and the label names of each sample name. */
function parseExposition(text: string): { types: Map<string, string>; samples: Map<string, Set<string>> } {
  const types = new Map<string, string>();
  const samples = new Map<string, Set<string>>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type !== null) types.set(type[1] ?? '', type[2] ?? '');
    const sample = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})?\s+\S+/.exec(line);
    if (sample === null || line.startsWith('#')) continue;
    const labels = samples.get(sample[1] ?? '') ?? new Set<string>();
    for (const label of (sample[2] ?? '').matchAll(/([A-Za-z_]\w*)="(?:[^"\\]|\\.)*"/g)) labels.add(label[1] ?? '');
    samples.set(sample[1] ?? '', labels);
  }
  return { types, samples };
}

/** The family a sample name belongs to: a histogram's `_bucket`/`_sum`/`_count` map to its base name. */
function familyOf(name: string, types: Map<string, string>): string {
  const base = /^(.+)_(?:bucket|sum|count)$/.exec(name)?.[1];
  return base !== undefined && (types.get(base) === 'histogram' || types.get(base) === 'summary') ? base : name;
}

describe('the Grafana dashboard deploy/grafana/relay.json', () => {
  it('is a dashboard model with a Prometheus datasource variable and model/provider variables', () => {
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(dashboard.uid).toMatch(/^[\w-]{1,40}$/);
    const variables = new Map(dashboard.templating.list.map((variable) => [variable.name, variable]));
    expect(variables.get('datasource')).toMatchObject({ type: 'datasource', query: 'prometheus' });
    for (const name of ['model', 'provider']) {
      const variable = variables.get(name);
      expect(variable?.type).toBe('query');
      expect(variable?.datasource?.uid).toBe('${datasource}');
      expect(variable?.definition).toMatch(new RegExp(`^label_values\\(\\w+(\\{[^}]*\\})?, ${name}\\)$`));
    }
  });

  it('has unique panel ids, panels inside the 24-column grid without overlaps, and a datasource and query on every panel', () => {
    const ids = allPanels.map((panel) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
    const occupied = new Set<string>();
    for (const panel of dashboard.panels) {
      const { x, y, w, h } = panel.gridPos;
      expect(x + w, panel.title).toBeLessThanOrEqual(24);
      for (let column = x; column < x + w; column++) {
        for (let row = y; row < y + h; row++) {
          expect(occupied.has(`${column},${row}`), `${panel.title} overlaps another panel`).toBe(false);
          occupied.add(`${column},${row}`);
        }
      }
    }
    expect(queryPanels.length).toBeGreaterThan(20);
    for (const panel of queryPanels) {
      expect(panel.datasource, panel.title).toEqual({ type: 'prometheus', uid: '${datasource}' });
      expect(panel.targets?.length ?? 0, panel.title).toBeGreaterThan(0);
      const refIds = (panel.targets ?? []).map((target) => target.refId);
      expect(new Set(refIds).size, panel.title).toBe(refIds.length);
      for (const target of panel.targets ?? []) {
        expect(target.expr?.trim(), panel.title).toBeTruthy();
        expect(target.datasource?.uid ?? '${datasource}', panel.title).toBe('${datasource}');
      }
    }
  });

  it('maps the circuit state to closed, half-open and open', () => {
    const circuit = queryPanels.find((panel) => panel.targets?.some((target) => target.expr?.includes('relay_circuit_state')));
    const options = circuit?.fieldConfig?.defaults?.mappings?.find((mapping) => mapping.type === 'value')?.options ?? {};
    expect(Object.fromEntries(Object.entries(options).map(([value, option]) => [value, option.text]))).toEqual({ 0: 'closed', 1: 'half-open', 2: 'open' });
  });

  it('extracts metric names from PromQL', () => {
    expect(
      metricNames('histogram_quantile(0.99, sum by (le, provider) (rate(relay_upstream_duration_seconds_bucket{job=~"$job", provider=~"a|b"}[$__rate_interval])))'),
    ).toEqual(['relay_upstream_duration_seconds_bucket']);
    expect(metricNames('1 - sum by (currency) (increase(a_total{x="1e-9 y"}[$__range])) / on (currency) sum(b_total offset 5m) * 3600 > bool 1e-9')).toEqual(['a_total', 'b_total']);
    expect(metricNames('label_values(relay_requests_total{job=~"$job"}, model)')).toEqual(['relay_requests_total']);
  });
});

describe('every metric the dashboard queries exists in a real scrape', () => {
  const upstream = new MockOpenAIUpstream();
  const metricsToken = 'metrics-token-grafana-0123456789';
  const serverError: Behaviour = { kind: 'status', status: 500, headers: { 'retry-after-ms': '1' } };
  let relay: StartedRelay;
  let scrape: ReturnType<typeof parseExposition>;
  let fallbackHeader: string | null = null;

  beforeAll(async () => {
    await upstream.start();
    const directory = mkdtempSync(join(tmpdir(), 'relay-grafana-'));
    writeFileSync(
      join(directory, 'relay.yaml'),
      [
        'providers:',
        `  a: { type: openai, baseUrl: "${upstream.url}", apiKey: key-a-0123456789 }`,
        `  b: { type: openai, baseUrl: "${upstream.url}", apiKey: key-b-0123456789 }`,
        'models:',
        '  gpt-4.1: { targets: [{ provider: a }] }',
        '  claude-sonnet-4: { targets: [{ provider: b }] }',
        '  canary-chat:',
        '    targets: [{ provider: a }]',
        '    canary: { targets: [{ provider: b }], initialWeight: 5, intervalMs: 600000 }',
        'fallbacks:',
        '  gpt-4.1: [claude-sonnet-4]',
        '',
      ].join('\n'),
    );
    relay = await startRelay({ METRICS_TOKEN: metricsToken, LOG_LEVEL: 'warn' }, directory);
    const client = new OpenAI({ apiKey: masterKey, baseURL: relay.baseURL, maxRetries: 0 });
    const messages = [{ role: 'user' as const, content: 'hello' }];

    await client.chat.completions.create({ model: 'gpt-4.1', messages });
    const stream = await client.chat.completions.create({ model: 'gpt-4.1', messages, stream: true, stream_options: { include_usage: true } });
    for await (const _chunk of stream) {
      // drain
    }
    upstream.next(serverError); // retried, then answered
    await client.chat.completions.create({ model: 'gpt-4.1', messages });
    await client.chat.completions.create({ model: 'canary-chat', messages });

    const created = await request(`${relay.url}/admin/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${masterKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'grafana-rpm-1', rpm: 1 }),
    });
    const limitedKey = (await created.body.json()) as { key: string };
    const limited = new OpenAI({ apiKey: limitedKey.key, baseURL: relay.baseURL, maxRetries: 0 });
    for (let index = 0; index < 2; index++) await limited.chat.completions.create({ model: 'gpt-4.1', messages }).catch(() => undefined);

    // One attempt and MAX_RETRIES (3) retries fail: claude-sonnet-4 answers.
    upstream.next(serverError, serverError, serverError, serverError);
    const { response } = await client.chat.completions.create({ model: 'gpt-4.1', messages }).withResponse();
    fallbackHeader = response.headers.get('x-relay-fallback');

    await new Promise((resolve) => setTimeout(resolve, 100));
    const scraped = await request(`${relay.url}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } });
    expect(scraped.statusCode).toBe(200);
    scrape = parseExposition(await scraped.body.text());
  });
  afterAll(async () => {
    await relay?.close();
    await upstream.stop();
  });

  it('made the traffic the checks rely on', () => {
    expect(fallbackHeader).toBe('gpt-4.1->claude-sonnet-4');
    expect(expressions.length).toBeGreaterThan(30);
  });

  it('finds every queried metric as a family with a sample, and histogram suffixes only on histograms', () => {
    const names = [...new Set(expressions.flatMap(metricNames))].sort();
    const problems: string[] = [];
    for (const name of names) {
      const family = familyOf(name, scrape.types);
      if (!scrape.types.has(family)) problems.push(`${name}: no "# TYPE ${family}" in the scrape`);
      else if (!scrape.samples.has(name)) problems.push(`${name}: no sample line (family ${family}, ${scrape.types.get(family)})`);
    }
    expect(problems).toEqual([]);
    // What was checked, for the record of a failing run.
    expect(names).toContain('gen_ai_client_operation_duration_seconds_bucket');
  });

  it('filters and groups only by labels the metrics carry', () => {
    const problems: string[] = [];
    for (const expression of expressions) {
      const used = metricNames(expression);
      const available = new Set([...scrapeLabels, ...used.flatMap((name) => [...(scrape.samples.get(name) ?? [])])]);
      for (const selector of selectors(expression)) {
        const labels = scrape.samples.get(selector.name) ?? new Set<string>();
        for (const label of selector.labels) if (!scrapeLabels.has(label) && !labels.has(label)) problems.push(`${selector.name} has no label ${label}`);
      }
      for (const label of groupingLabels(expression)) if (!available.has(label)) problems.push(`by (${label}) in: ${expression}`);
      const variable = /^label_values\(.*,\s*(\w+)\)$/.exec(expression)?.[1];
      if (variable !== undefined && !available.has(variable)) problems.push(`label_values of missing label ${variable}`);
    }
    expect(problems).toEqual([]);
  });

  it("covers every metric family of the relay's own (relay_* and gen_ai_*)", () => {
    const used = new Set(expressions.flatMap(metricNames).map((name) => familyOf(name, scrape.types)));
    const own = [...scrape.types.keys()].filter((name) => name.startsWith('relay_') || name.startsWith('gen_ai_'));
    expect(own.length).toBeGreaterThan(15);
    expect(own.filter((name) => !used.has(name))).toEqual([]);
  });
});
