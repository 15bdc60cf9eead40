/**
 * The Helm chart deploy/helm/relay, rendered by test/support/helm-template (no helm binary is
 * installable here; when `helm` is on the PATH its own rendering is compared with ours): its
 * values schema, the objects it renders with the defaults (the same as deploy/kubernetes) and with
 * every option, the settings it refuses, and release-scoped names.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { renderChart, type RenderedChart } from '../support/helm-template/render-chart.js';
import { TemplateError } from '../support/helm-template/template-error.js';
import { ajvProblems, compileJsonSchema } from '../support/kubernetes-validation/json-schema.js';
import { parseManifests } from '../support/kubernetes-validation/parse-manifests.js';
import { validateManifests } from '../support/kubernetes-validation/validate-manifests.js';
import { comparableObjects, withoutHelmBookkeeping } from './support/comparable-objects.js';
import { claimRolloutProblems } from './support/claim-rollout-problems.js';
import { readmeSinglePodPatch } from './support/deploy-readme.js';
import { kubernetesManifests } from './support/kubernetes-manifests.js';
import { at, envOf, only, podSpecOf, relayContainerOf } from './support/manifest-accessors.js';
import { metricsWiringProblems } from './support/metrics-wiring.js';
import { repository } from './support/repository.js';

const { chartDir, packageVersion } = repository;
const { applied } = kubernetesManifests;
const validateValues = compileJsonSchema(JSON.parse(readFileSync(join(chartDir, 'values.schema.json'), 'utf8')) as object);

/** `helm template <release> deploy/helm/relay -n <namespace>` with `values` as an overrides file. */
function render(values: Record<string, unknown> = {}, release = { name: 'relay', namespace: 'relay' }): RenderedChart {
  return renderChart(chartDir, { values, releaseName: release.name, namespace: release.namespace });
}

/** Why the chart refuses these values ('' when it renders them). */
function renderProblems(values: Record<string, unknown>): string {
  try {
    render(values);
    return '';
  } catch (error) {
    if (error instanceof TemplateError) return error.message;
    throw error;
  }
}

const helmAvailable = spawnSync('helm', ['version', '--short'], { encoding: 'utf8' }).status === 0;

describe('deploy/helm/relay', () => {
  const chart = parseYaml(readFileSync(join(chartDir, 'Chart.yaml'), 'utf8')) as Record<string, string>;
  let rendered: RenderedChart | undefined;
  const defaults = () => (rendered ??= render());

  it('is a v2 application chart for this version of the relay', () => {
    expect(chart).toMatchObject({ apiVersion: 'v2', name: 'relay', type: 'application', appVersion: packageVersion });
    expect(chart.version).toMatch(/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/);
    expect(chart.kubeVersion).toBeTruthy();
  });

  it('has default values that meet its values.schema.json, which refuses typos and secrets in env', () => {
    const values = parseYaml(readFileSync(join(chartDir, 'values.yaml'), 'utf8')) as object;
    expect(validateValues(values), ajvProblems(validateValues.errors).join('\n')).toBe(true);
    expect(renderProblems({ replicas: 3 })).toMatch(/additionalProperties|must NOT have additional properties/);
    expect(renderProblems({ env: { OPENAI_API_KEY: 'sk-…' } })).toMatch(/propertyNames|property name/);
    expect(renderProblems({ env: { METRICS_TOKEN: 'x' } })).toMatch(/propertyNames|property name/);
    expect(renderProblems({ env: { METRICS_PORT: '9100' } })).toMatch(/propertyNames|property name/);
    expect(renderProblems({ metrics: { port: 70000 } })).toMatch(/maximum|must be <=/);
    expect(renderProblems({ ingress: { hosts: [{ host: 'x', paths: [{ path: 'no-slash', pathType: 'Prefix' }] }] } })).toMatch(/pattern/);
  });

  it('renders, with the default values, the same objects as deploy/kubernetes (the Namespace aside)', () => {
    expect(comparableObjects(defaults().objects)).toEqual(comparableObjects(applied.filter((object) => object.kind !== 'Namespace')));
    expect(metricsWiringProblems(defaults().objects)).toEqual(metricsWiringProblems(applied));
    // Helm's own labels are there too.
    for (const object of defaults().objects) expect(object.metadata.labels?.['app.kubernetes.io/managed-by'], object.kind).toBe('Helm');
    const annotations = at(only(defaults().objects, 'Deployment'), 'spec', 'template', 'metadata', 'annotations') as Record<string, string>;
    expect(annotations['checksum/config']).toMatch(/^[0-9a-f]{64}$/);
  });

  it('serves /metrics on the "metrics" port 9090 by default, which the Ingress never reaches, as deploy/kubernetes does', () => {
    const deployment = only(defaults().objects, 'Deployment');
    const container = relayContainerOf(deployment);
    expect(envOf(container).get('METRICS_PORT')).toBe('9090');
    expect(container.ports).toContainEqual({ name: 'metrics', containerPort: 9090, protocol: 'TCP' });
    expect(envOf(container).has('METRICS_TOKEN')).toBe(false);
    expect(at(only(defaults().objects, 'Service'), 'spec', 'ports')).toContainEqual({ name: 'metrics', port: 9090, targetPort: 'metrics', protocol: 'TCP' });
    expect(only(defaults().objects, 'Service').metadata.annotations?.['prometheus.io/port']).toBe('9090');
    for (const rule of at(only(defaults().objects, 'Ingress'), 'spec', 'rules') as any[]) {
      for (const path of rule.http.paths) expect(path.backend.service.port).toEqual({ name: 'http' });
    }
    expect(metricsWiringProblems(defaults().objects)).toEqual([]);
    expect(defaults().notes).toMatch(/\/metrics on port 9090 .*the Ingress does not route to/);

    // The ServiceMonitor scrapes the "metrics" port of every pod once, also with Flagger's Services
    // (portDiscovery), which carry no label but app.kubernetes.io/name: their own name.
    for (const values of [{ serviceMonitor: { enabled: true } }, { serviceMonitor: { enabled: true }, canary: { enabled: true } }]) {
      const rendered = render(values);
      expect(at(only(rendered.objects, 'ServiceMonitor'), 'spec', 'endpoints', 0, 'port'), JSON.stringify(values)).toBe('metrics');
      expect(metricsWiringProblems(rendered.objects), JSON.stringify(values)).toEqual([]);
      expect(validateManifests(rendered.objects)).toEqual([]);
    }
    const staging = render({ serviceMonitor: { enabled: true }, canary: { enabled: true } }, { name: 'staging', namespace: 'llm' }).objects;
    expect(metricsWiringProblems(staging)).toEqual([]);
    const expressionless = structuredClone(staging) as any[];
    delete expressionless.find((object) => object.kind === 'ServiceMonitor').spec.selector.matchExpressions[0].values;
    expect(validateManifests(expressionless).join()).toMatch(/matchExpressions\/0/);

    // Another port: everything follows it.
    const moved = render({ metrics: { port: 9100 }, service: { annotations: { 'prometheus.io/port': '9100' } }, serviceMonitor: { enabled: true } });
    expect(envOf(relayContainerOf(only(moved.objects, 'Deployment'))).get('METRICS_PORT')).toBe('9100');
    expect(at(only(moved.objects, 'Service'), 'spec', 'ports', 1)).toEqual({ name: 'metrics', port: 9100, targetPort: 'metrics', protocol: 'TCP' });
    expect(metricsWiringProblems(moved.objects)).toEqual([]);
    expect(validateManifests(moved.objects)).toEqual([]);
  });

  it('serves /metrics on the API port when metrics.port is 0 or null, and takes a metrics token from a Secret', () => {
    for (const port of [0, null]) {
      const shared = render({ metrics: { port }, service: { annotations: { 'prometheus.io/port': '8080' } }, serviceMonitor: { enabled: true } });
      const container = relayContainerOf(only(shared.objects, 'Deployment'));
      expect(envOf(container).has('METRICS_PORT'), String(port)).toBe(false);
      expect((container.ports as Array<{ name: string }>).map((entry) => entry.name)).toEqual(['http']);
      expect((at(only(shared.objects, 'Service'), 'spec', 'ports') as Array<{ name: string }>).map((entry) => entry.name)).toEqual(['http']);
      expect(at(only(shared.objects, 'ServiceMonitor'), 'spec', 'endpoints', 0, 'port')).toBe('http');
      expect(metricsWiringProblems(shared.objects)).toEqual([]);
      expect(validateManifests(shared.objects)).toEqual([]);
      // Public through the Ingress then, and NOTES says so.
      expect(shared.notes).toMatch(/WARNING: metrics.port is 0/);
    }

    // metrics.token: the chart's own Secret, read by the relay and by the ServiceMonitor.
    const tokened = render({ metrics: { token: 'metrics-token-0123456789' }, serviceMonitor: { enabled: true } });
    const secret = only(tokened.objects, 'Secret', 'relay-metrics');
    expect(at(secret, 'stringData')).toEqual({ METRICS_TOKEN: 'metrics-token-0123456789' });
    const tokenRef = { secretKeyRef: { name: 'relay-metrics', key: 'METRICS_TOKEN' } };
    const deployment = only(tokened.objects, 'Deployment');
    expect(relayContainerOf(deployment).env).toContainEqual({ name: 'METRICS_TOKEN', valueFrom: tokenRef });
    expect(at(deployment, 'spec', 'template', 'metadata', 'annotations', 'checksum/metrics-secret')).toMatch(/^[0-9a-f]{64}$/);
    expect(at(only(tokened.objects, 'ServiceMonitor'), 'spec', 'endpoints', 0, 'authorization')).toEqual({ type: 'Bearer', credentials: tokenRef.secretKeyRef });
    expect(metricsWiringProblems(tokened.objects)).toEqual([]);
    expect(validateManifests(tokened.objects)).toEqual([]);
    const basic = structuredClone(tokened.objects) as any[];
    basic.find((object) => object.kind === 'ServiceMonitor').spec.endpoints[0].authorization.type = 'Basic';
    expect(validateManifests(basic).join()).toMatch(/authorization\/type/);

    // metrics.existingSecret: your Secret and key; the chart makes none.
    const existing = render({ metrics: { existingSecret: 'relay-monitoring', existingSecretKey: 'token' }, serviceMonitor: { enabled: true } });
    expect(existing.objects.filter((object) => object.kind === 'Secret')).toEqual([]);
    expect(relayContainerOf(only(existing.objects, 'Deployment')).env).toContainEqual({ name: 'METRICS_TOKEN', valueFrom: { secretKeyRef: { name: 'relay-monitoring', key: 'token' } } });
    expect(at(only(existing.objects, 'ServiceMonitor'), 'spec', 'endpoints', 0, 'authorization', 'credentials')).toEqual({ name: 'relay-monitoring', key: 'token' });
    expect(validateManifests(existing.objects)).toEqual([]);
  });

  it('refuses metrics settings that would break the relay or the scrape', () => {
    expect(renderProblems({ metrics: { port: 8080 } })).toMatch(/metrics.port 8080 is the API's port/);
    expect(renderProblems({ metrics: { port: 9100 } })).toMatch(/prometheus.io\/port is "9090", but \/metrics is served on port 9100/);
    expect(renderProblems({ metrics: { port: 0 } })).toMatch(/prometheus.io\/port is "9090", but \/metrics is served on port 8080/);
    // A map in values merges over the chart's: null, not {}, drops the annotations (as `--set service.annotations=null`).
    expect(renderProblems({ metrics: { port: 0 }, service: { annotations: {} } })).toMatch(/prometheus.io\/port is "9090"/);
    expect(renderProblems({ metrics: { port: 0 }, service: { annotations: null } })).toBe('');
    expect(renderProblems({ metrics: { token: 'a', existingSecret: 'b' } })).toMatch(/metrics.token and metrics.existingSecret are both set/);
  });

  it('refuses a canary of pods that would share one claim', () => {
    expect(renderProblems({ canary: { enabled: true }, persistence: { existingClaim: 'relay-data' } })).toMatch(/canary.enabled with persistence.existingClaim/);
    expect(renderProblems({ canary: { enabled: true } })).toBe('');
    expect(renderProblems({ persistence: { existingClaim: 'relay-data' } })).toBe('');
  });

  it('renders the Flagger Canary of deploy/kubernetes when canary.enabled, and leaves the Service to Flagger', () => {
    const rendered = render({ canary: { enabled: true } });
    expect(rendered.objects.filter((object) => object.kind === 'Service')).toEqual([]);
    expect(withoutHelmBookkeeping(only(rendered.objects, 'Canary'))).toEqual(withoutHelmBookkeeping(kubernetesManifests.read('canary.yaml')[0]!));
    expect(metricsWiringProblems(rendered.objects)).toEqual([]);
    expect(validateManifests(rendered.objects)).toEqual([]);
    expect(renderProblems({ canary: { enabled: true }, ingress: { enabled: false } })).toMatch(/enable ingress/);
    expect(renderProblems({ extraEnv: [{ name: 'NODE_OPTIONS', value: '--max-old-space-size=384' }] })).toMatch(/extraEnv sets NODE_OPTIONS, which env sets too/);
  });

  it('validates every object it renders with the defaults and with every option turned on or off', () => {
    expect(validateManifests(defaults().objects)).toEqual([]);
    const variants: Array<Record<string, unknown>> = [
      {
        secrets: { existingSecret: '', values: { HOLYSHEEP_API_KEY: 'sk-x', RELAY_MASTER_KEY: 'sk-relay-0123456789abcdef' } },
        database: { url: 'postgres://relay:pw@postgresql:5432/relay' },
        redis: { url: 'redis://:pw@redis-master:6379/0' },
        serviceMonitor: { enabled: true, labels: { release: 'prometheus' } },
        podAntiAffinityPreset: 'hard',
        persistence: { existingClaim: 'relay-data' },
        extraEnv: [{ name: 'UV_THREADPOOL_SIZE', value: '8' }],
        imagePullSecrets: [{ name: 'registry' }],
        podAnnotations: { team: 'ai' },
        nodeSelector: { 'kubernetes.io/os': 'linux' },
        pdb: { minAvailable: '50%' },
      },
      { autoscaling: { enabled: false }, ingress: { enabled: false }, networkPolicy: { enabled: false }, pdb: { enabled: false }, serviceAccount: { create: false } },
      { networkPolicy: { stateStores: { enabled: false }, extraEgress: [{ to: [{ ipBlock: { cidr: '10.20.0.0/16' } }], ports: [{ protocol: 'TCP', port: 6379 }] }] } },
    ];
    for (const variant of variants) {
      const rendered = render(variant);
      expect(validateManifests(rendered.objects), JSON.stringify(variant)).toEqual([]);
      expect(rendered.notes).toContain('relay');
    }
    const full = render(variants[0]!);
    const secret = only(full.objects, 'Secret');
    expect(Object.keys(at(secret, 'stringData') as object).sort()).toEqual(['DATABASE_URL', 'HOLYSHEEP_API_KEY', 'REDIS_URL', 'RELAY_MASTER_KEY']);
    expect(relayContainerOf(only(full.objects, 'Deployment')).envFrom).toEqual([{ secretRef: { name: secret.metadata.name } }]);
    expect(at(only(full.objects, 'Deployment'), 'spec', 'template', 'metadata', 'annotations', 'checksum/secret')).toMatch(/^[0-9a-f]{64}$/);
    const bare = render(variants[1]!);
    expect(at(only(bare.objects, 'Deployment'), 'spec', 'replicas')).toBe(3);
    expect(bare.objects.map((object) => object.kind).sort()).toEqual(['ConfigMap', 'Deployment', 'Service']);
  });

  it('recreates one pod on a claim, without anti-affinity, as deploy/README.md does with Kustomize', () => {
    const single = { autoscaling: { enabled: false }, replicaCount: 1, persistence: { existingClaim: 'relay-data' } };
    const rendered = render(single);
    const deployment = only(rendered.objects, 'Deployment');
    // A surge pod would wait on the ReadWriteOnce claim ("Multi-Attach error") while the old pod holds it.
    expect(claimRolloutProblems(deployment, rendered.objects)).toEqual([]);
    expect(at(deployment, 'spec', 'strategy')).toEqual({ type: 'Recreate' });
    expect(podSpecOf(deployment).affinity).toBeUndefined();
    expect(withoutHelmBookkeeping(deployment)).toEqual(withoutHelmBookkeeping(readmeSinglePodPatch(only(applied, 'Deployment'))));
    expect(podSpecOf(only(render({ ...single, podAntiAffinityPreset: 'hard' }).objects, 'Deployment')).affinity).toBeUndefined();
    // An affinity of your own is kept.
    const zone = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'topology.kubernetes.io/zone', operator: 'In', values: ['a'] }] }] } } };
    expect(podSpecOf(only(render({ ...single, affinity: zone }).objects, 'Deployment')).affinity).toEqual(zone);
    expect(validateManifests(rendered.objects)).toEqual([]);

    // Several pods (a ReadWriteMany claim, or none) keep the rolling update and the preset.
    for (const values of [{}, { persistence: { existingClaim: 'relay-data' } }, { ...single, replicaCount: 2 }, { ...single, persistence: { existingClaim: '' } }]) {
      const other = only(render(values).objects, 'Deployment');
      expect(at(other, 'spec', 'strategy'), JSON.stringify(values)).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
      expect(podSpecOf(other).affinity?.podAntiAffinity, JSON.stringify(values)).toBeDefined();
    }
  });

  it('refuses settings that would break the pods', () => {
    expect(renderProblems({ terminationGracePeriodSeconds: 30 })).toMatch(/terminationGracePeriodSeconds \(30 s\) must exceed/);
    expect(renderProblems({ env: { SHUTDOWN_GRACE_PERIOD_MS: '60000' } })).toMatch(/must exceed .*65000 ms/);
    expect(renderProblems({ terminationGracePeriodSeconds: 31 })).toBe('');
    expect(renderProblems({ database: { url: 'postgres://relay:pw@db:5432/relay' } })).toMatch(/put DATABASE_URL and REDIS_URL in that Secret/);
  });

  it('names everything after the release, so two releases can share a namespace', () => {
    const other = render({}, { name: 'staging', namespace: 'llm' });
    const deployment = only(other.objects, 'Deployment');
    expect(deployment.metadata).toMatchObject({ name: 'staging-relay', namespace: 'llm' });
    expect(at(deployment, 'spec', 'selector', 'matchLabels')).toEqual({ 'app.kubernetes.io/name': 'staging-relay' });
    expect(at(only(other.objects, 'NetworkPolicy'), 'spec', 'podSelector', 'matchLabels')).toEqual({ 'app.kubernetes.io/instance': 'staging' });
    expect(relayContainerOf(deployment).envFrom).toEqual([{ secretRef: { name: 'relay-secrets' } }]);
    expect(other.notes).toContain('staging-relay.llm.svc.cluster.local');
    expect(validateManifests(other.objects)).toEqual([]);
  });

  it.skipIf(!helmAvailable)('agrees with `helm template` and passes `helm lint`', () => {
    const lint = spawnSync('helm', ['lint', chartDir, '--strict'], { encoding: 'utf8' });
    expect(lint.status, lint.stdout + lint.stderr).toBe(0);
    for (const [overrides, file] of [
      [{}, undefined],
      [{ canary: { enabled: true } }, 'canary'],
    ] as const) {
      const args = ['template', 'relay', chartDir, '--namespace', 'relay', '--kube-version', '1.30.0'];
      if (file) {
        const valuesFile = join(mkdtempSync(join(tmpdir(), 'relay-helm-')), `${file}.yaml`);
        writeFileSync(valuesFile, stringifyYaml(overrides));
        args.push('--values', valuesFile);
      }
      const rendered = spawnSync('helm', args, { encoding: 'utf8' });
      expect(rendered.status, rendered.stderr).toBe(0);
      expect(comparableObjects(parseManifests(rendered.stdout, 'helm template'))).toEqual(comparableObjects(render(overrides).objects));
    }
  });
});
