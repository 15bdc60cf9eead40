/**
 * How the objects of deploy/kubernetes fit together and with the relay: selectors, ports (the API's
 * behind the Ingress, /metrics on its own port behind no Ingress), probes,
 * shutdown timing, scaling, Pod Security, the Secret's keys, relay.yaml (through the relay's own
 * loadConfig), the Ingress's streaming settings, egress, and the Flagger Canary's references.
 */
import { readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../../src/config/config-error.js';
import { validateManifests } from '../support/kubernetes-validation/validate-manifests.js';
import { applyJsonPatch } from './support/apply-json-patch.js';
import { claimRolloutProblems } from './support/claim-rollout-problems.js';
import { readmeSinglePodPatch } from './support/deploy-readme.js';
import { kubernetesManifests } from './support/kubernetes-manifests.js';
import { loadRelayConfig } from './support/load-relay-config.js';
import { at, envOf, matches, only, podSpecOf, relayContainerOf, resolvePort } from './support/manifest-accessors.js';
import { metricsWiringProblems } from './support/metrics-wiring.js';
import { relayEnvironment } from './support/relay-environment.js';
import { repository } from './support/repository.js';

const { all: allObjects, applied } = kubernetesManifests;
const { kubernetesDir } = repository;
const { knownVariables: knownEnvironment, isSecretVariable, defaultDrainDelayMs, defaultGracePeriodMs } = relayEnvironment;

describe('deploy/kubernetes', () => {
  const namespace = only(allObjects, 'Namespace').metadata.name;
  const deployment = only(allObjects, 'Deployment');
  const container = relayContainerOf(deployment);
  const podLabels = at(deployment, 'spec', 'template', 'metadata', 'labels') as Record<string, string>;
  const service = only(allObjects, 'Service');
  const canary = only(allObjects, 'Canary');

  it('selects the pods consistently (Deployment, Service, NetworkPolicy, PDB, anti-affinity)', () => {
    const selector = at(deployment, 'spec', 'selector', 'matchLabels') as Record<string, string>;
    // Flagger requires exactly one selector label, one of app, name or app.kubernetes.io/name.
    expect(Object.keys(selector)).toEqual(['app.kubernetes.io/name']);
    expect(selector['app.kubernetes.io/name']).toBe(deployment.metadata.name);
    expect(matches(selector, podLabels)).toBe(true);
    expect(at(service, 'spec', 'selector')).toEqual(selector);
    const groupSelectors = [
      at(only(allObjects, 'NetworkPolicy'), 'spec', 'podSelector', 'matchLabels'),
      at(only(allObjects, 'PodDisruptionBudget'), 'spec', 'selector', 'matchLabels'),
      at(podSpecOf(deployment), 'affinity', 'podAntiAffinity', 'preferredDuringSchedulingIgnoredDuringExecution', 0, 'podAffinityTerm', 'labelSelector', 'matchLabels'),
    ] as Array<Record<string, string>>;
    for (const groupSelector of groupSelectors) {
      expect(matches(groupSelector, podLabels)).toBe(true);
      // Flagger's relay-primary pods keep every label but the selector one: these must not use it.
      expect(Object.keys(groupSelector)).not.toContain('app.kubernetes.io/name');
    }
    expect(podSpecOf(deployment).serviceAccountName).toBe(only(allObjects, 'ServiceAccount').metadata.name);
  });

  it('wires ports: Ingress → Service 80 "http" → container 8080; /metrics only on "metrics" 9090 (METRICS_PORT), which no Ingress reaches', () => {
    const ports = at(service, 'spec', 'ports') as Array<{ name: string; port: number; targetPort: number | string }>;
    expect(at(service, 'spec', 'type')).toBe('ClusterIP');
    expect(ports.map((port) => port.name)).toEqual(['http', 'metrics']);
    const [http, metrics] = ports as [(typeof ports)[number], (typeof ports)[number]];
    const env = envOf(container);
    expect(http.port).toBe(80);
    expect(resolvePort(container, http.targetPort)).toBe(8080);
    expect(resolvePort(container, http.targetPort)).toBe(Number(env.get('PORT')));
    // The relay serves /metrics on METRICS_PORT alone (PORT answers it with 404): the container
    // port named "metrics", which the Service exposes under the same name and number.
    const metricsPort = resolvePort(container, 'metrics');
    expect(metricsPort).toBe(9090);
    expect(Number(env.get('METRICS_PORT'))).toBe(metricsPort);
    expect(metricsPort).not.toBe(Number(env.get('PORT')));
    expect(metrics.port).toBe(metricsPort);
    expect(resolvePort(container, metrics.targetPort)).toBe(metricsPort);
    // Prometheus' annotation-driven job scrapes the pods on the metrics port.
    expect(service.metadata.annotations).toEqual({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(metricsPort), 'prometheus.io/path': '/metrics' });
    // Every Ingress backend is the Service's "http" port, never "metrics", so /metrics stays inside the cluster.
    const ingress = only(allObjects, 'Ingress');
    for (const rule of at(ingress, 'spec', 'rules') as any[]) {
      for (const path of rule.http.paths) {
        expect(path.backend.service.name).toBe(service.metadata.name);
        expect(path.backend.service.port).toEqual({ name: http.name });
        expect(path.backend.service.port).not.toEqual({ name: metrics.name });
        expect(path.backend.service.port).not.toEqual({ number: metrics.port });
      }
    }
    expect(metricsWiringProblems(applied)).toEqual([]);
  });

  it('catches metrics wiring that would expose or miss /metrics', () => {
    const broken = (change: (objects: any[]) => void) => {
      const objects = structuredClone(applied) as any[];
      change(objects);
      return metricsWiringProblems(objects).join('\n');
    };
    const of = (objects: any[], kind: string) => objects.find((object) => object.kind === kind);
    const relayOf = (objects: any[]) => relayContainerOf(of(objects, 'Deployment'));
    expect(broken((objects) => (of(objects, 'Ingress').spec.rules[0].http.paths[0].backend.service.port = { name: 'metrics' }))).toMatch(/exposes the metrics port/);
    expect(broken((objects) => (of(objects, 'Ingress').spec.rules[0].http.paths[0].backend.service.port = { number: 9090 }))).toMatch(/exposes the metrics port/);
    expect(broken((objects) => (of(objects, 'Service').metadata.annotations['prometheus.io/port'] = '8080'))).toMatch(/prometheus.io\/port is 8080, \/metrics is on 9090/);
    expect(broken((objects) => relayOf(objects).env.find((entry: any) => entry.name === 'METRICS_PORT').value = '9100')).toMatch(/METRICS_PORT is 9100, the container port "metrics" is 9090/);
    expect(broken((objects) => (relayOf(objects).env = relayOf(objects).env.filter((entry: any) => entry.name !== 'METRICS_PORT')))).toMatch(/without METRICS_PORT/);
    expect(broken((objects) => of(objects, 'Service').spec.ports.pop())).toMatch(/no Service port reaches the metrics port 9090/);
    expect(
      broken((objects) =>
        objects.push({ apiVersion: 'monitoring.coreos.com/v1', kind: 'ServiceMonitor', metadata: { name: 'relay' }, spec: { selector: {}, endpoints: [{ port: 'http', path: '/metrics' }] } }),
      ),
    ).toMatch(/ServiceMonitor relay → http: reaches container port 8080, \/metrics is on 9090/);

    // With Flagger's Services: each pod once, the canary's included, the primary's not twice.
    const monitored = (selector: object) =>
      metricsWiringProblems([
        ...applied.filter((object) => object.kind !== 'Service'),
        canary,
        { apiVersion: 'monitoring.coreos.com/v1', kind: 'ServiceMonitor', metadata: { name: 'relay' }, spec: { selector, endpoints: [{ port: 'metrics', path: '/metrics' }] } },
      ]).join('\n');
    expect(monitored({ matchLabels: { 'app.kubernetes.io/name': 'relay' } })).toMatch(/the canary pods are scraped through 0 Services \(none\), not 1/);
    expect(monitored({ matchExpressions: [{ key: 'app.kubernetes.io/name', operator: 'Exists' }] })).toMatch(/the primary pods are scraped through 2 Services \(relay, relay-primary\), not 1/);
    expect(monitored({ matchExpressions: [{ key: 'app.kubernetes.io/name', operator: 'In', values: ['relay', 'relay-canary'] }] })).toBe('');
  });

  it('probes liveness on /health and readiness on /ready, on the relay’s port', () => {
    expect(container.livenessProbe.httpGet.path).toBe('/health');
    expect(container.readinessProbe.httpGet.path).toBe('/ready');
    expect(resolvePort(container, container.livenessProbe.httpGet.port)).toBe(Number(envOf(container).get('PORT')));
    expect(resolvePort(container, container.readinessProbe.httpGet.port)).toBe(8080);
    // Liveness must not kill a pod that is only busy: several slow answers in a row, not one.
    expect(container.livenessProbe.failureThreshold).toBeGreaterThanOrEqual(3);
  });

  it('holds liveness off while `relay serve` migrates the database before listening, as long as the rollout waits', () => {
    // Liveness alone restarts a pod that has not answered within its first few periods (~50 s): a
    // Postgres migration over a large ledger takes minutes, and every new pod would loop on it.
    const startup = container.startupProbe;
    expect(startup?.httpGet?.path, 'a startupProbe on /health').toBe('/health');
    expect(resolvePort(container, startup.httpGet.port)).toBe(Number(envOf(container).get('PORT')));
    const seconds = (probe: { initialDelaySeconds?: number; periodSeconds?: number; failureThreshold?: number }) =>
      (probe.initialDelaySeconds ?? 0) + (probe.periodSeconds ?? 10) * (probe.failureThreshold ?? 3);
    expect(seconds(container.livenessProbe)).toBeLessThan(120);
    expect(seconds(startup)).toBeGreaterThanOrEqual(300);
    // No longer than the Deployment (and Flagger) wait for progress, which would fail the rollout first.
    expect(seconds(startup)).toBeLessThanOrEqual(at(deployment, 'spec').progressDeadlineSeconds ?? 600);
    expect(seconds(startup)).toBeLessThanOrEqual(at(canary, 'spec', 'progressDeadlineSeconds'));
    // A normal start (a second or two) still turns ready within seconds.
    expect(startup.periodSeconds).toBeLessThanOrEqual(5);
  });

  it('gives the relay more time to stop than its drain delay plus grace period', () => {
    const env = envOf(container);
    const drainMs = Number(env.get('SHUTDOWN_DRAIN_DELAY_MS') ?? defaultDrainDelayMs);
    const graceMs = Number(env.get('SHUTDOWN_GRACE_PERIOD_MS') ?? defaultGracePeriodMs);
    const preStopSeconds = container.lifecycle?.preStop?.sleep?.seconds ?? 0;
    expect(container.lifecycle?.preStop?.exec, 'a preStop exec hook would need a shell in the image').toBeUndefined();
    expect(podSpecOf(deployment).terminationGracePeriodSeconds * 1000).toBeGreaterThan(preStopSeconds * 1000 + drainMs + graceMs);
  });

  it('rolls out without losing capacity, and leaves the replica count to the HPA (3 to 10, CPU 70 %)', () => {
    expect(at(deployment, 'spec', 'strategy')).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
    const hpa = only(allObjects, 'HorizontalPodAutoscaler');
    expect(at(hpa, 'spec', 'scaleTargetRef')).toEqual({ apiVersion: deployment.apiVersion, kind: 'Deployment', name: deployment.metadata.name });
    expect(at(hpa, 'spec', 'minReplicas')).toBe(3);
    expect(at(hpa, 'spec', 'maxReplicas')).toBe(10);
    expect(at(hpa, 'spec', 'metrics')).toEqual([{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }]);
    expect(at(deployment, 'spec', 'replicas'), 'an HPA-managed Deployment sets no count').toBeUndefined();
    const pdb = only(allObjects, 'PodDisruptionBudget');
    expect(at(pdb, 'spec', 'maxUnavailable') ?? 0).toBeLessThan(at(hpa, 'spec', 'minReplicas'));
    expect(container.resources).toEqual({ requests: { cpu: '250m', memory: '256Mi' }, limits: { cpu: '500m', memory: '512Mi' } });
  });

  it('gives one pod on a claim, following deploy/README.md, a rollout that cannot hang on the claim', () => {
    // The manifests run 3 to 10 pods on emptyDir volumes: their surge and anti-affinity are right there.
    expect(claimRolloutProblems(deployment, applied)).toEqual([]);
    // The same Deployment given one replica and a ReadWriteOnce claim, and nothing else, would hang.
    const naive = applyJsonPatch(deployment, [
      { op: 'add', path: '/spec/replicas', value: 1 },
      { op: 'replace', path: '/spec/template/spec/volumes/1', value: { name: 'data', persistentVolumeClaim: { claimName: 'relay-data' } } },
    ]);
    const withoutHpa = (objects: typeof applied) => objects.filter((object) => object.kind !== 'HorizontalPodAutoscaler');
    expect(claimRolloutProblems(naive, withoutHpa(applied)).join('\n')).toMatch(/maxSurge 1 starts the new pod[\s\S]*anti-affinity/);

    // deploy/README.md's recipe: no HPA, one replica, the data directory on the claim, recreated.
    const single = readmeSinglePodPatch(deployment);
    expect(at(single, 'spec', 'replicas')).toBe(1);
    const volumes = podSpecOf(single).volumes as Array<{ name: string }>;
    const dataMount = (relayContainerOf(single).volumeMounts as Array<{ name: string; mountPath: string }>).find((mount) => mount.mountPath === envOf(container).get('RELAY_DATA_DIR'));
    expect(volumes.filter((volume) => volume.name === dataMount?.name)).toEqual([{ name: 'data', persistentVolumeClaim: { claimName: 'relay-data' } }]);
    expect(claimRolloutProblems(single, withoutHpa(applied))).toEqual([]);
    expect(at(single, 'spec', 'strategy')).toEqual({ type: 'Recreate' });
    expect(validateManifests([single])).toEqual([]);
  });

  it('runs under Pod Security "restricted", with every writable path on a volume', () => {
    expect(only(allObjects, 'Namespace').metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
    const pod = podSpecOf(deployment);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.enableServiceLinks).toBe(false);
    expect(container.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    const mounts = new Map((container.volumeMounts as Array<{ name: string; mountPath: string }>).map((mount) => [mount.mountPath, mount.name]));
    const volumes = new Map((pod.volumes as Array<{ name: string }>).map((volume) => [volume.name, volume as any]));
    for (const writable of [envOf(container).get('RELAY_DATA_DIR')!, '/tmp']) {
      const volume = volumes.get(mounts.get(writable) ?? '');
      expect(volume?.emptyDir ?? volume?.persistentVolumeClaim, `${writable} is writable`).toBeDefined();
    }
  });

  it('sets only variables the relay reads, and secrets only through the Secret', () => {
    const env = (container.env as Array<{ name: string; value?: string; valueFrom?: unknown }>) ?? [];
    for (const entry of env) {
      expect(knownEnvironment.has(entry.name), entry.name).toBe(true);
      expect(isSecretVariable(entry.name), `${entry.name} belongs in the Secret`).toBe(false);
    }
    expect(new Set(env.map((entry) => entry.name)).size).toBe(env.length);
    const secret = only(allObjects, 'Secret');
    expect(container.envFrom).toEqual([{ secretRef: { name: secret.metadata.name } }]);
    const keys = Object.keys(at(secret, 'stringData') as object);
    expect(keys).toEqual(expect.arrayContaining(['HOLYSHEEP_API_KEY', 'RELAY_MASTER_KEY']));
    for (const [key, value] of Object.entries(at(secret, 'stringData') as Record<string, string>)) {
      expect(knownEnvironment.has(key), key).toBe(true);
      expect(value, `${key} holds a placeholder, never a real key`).toMatch(/YOUR_|CHANGE_ME/);
    }
    // The template's commented-out keys are variables the relay reads as well.
    const commented = [...readFileSync(join(kubernetesDir, 'secret.example.yaml'), 'utf8').matchAll(/^\s*#\s*([A-Z][A-Z0-9_]+):/gm)].map((match) => match[1]!);
    expect(commented).toEqual(expect.arrayContaining(['OPENAI_API_KEY', 'ANTHROPIC_API_KEY', 'GEMINI_API_KEY', 'DEEPSEEK_API_KEY', 'DATABASE_URL', 'REDIS_URL']));
    for (const key of commented) expect(knownEnvironment.has(key), key).toBe(true);
  });

  it('mounts relay.yaml where RELAY_CONFIG points, and the relay accepts it with the Deployment’s settings', () => {
    const configMap = only(allObjects, 'ConfigMap');
    const configPath = envOf(container).get('RELAY_CONFIG')!;
    const mount = (container.volumeMounts as Array<{ name: string; mountPath: string; readOnly?: boolean }>).find((candidate) => candidate.name === 'config')!;
    expect(dirname(configPath)).toBe(mount.mountPath);
    expect(mount.readOnly).toBe(true);
    const volume = (podSpecOf(deployment).volumes as Array<{ name: string; configMap?: { name: string } }>).find((candidate) => candidate.name === 'config');
    expect(volume?.configMap?.name).toBe(configMap.metadata.name);
    const relayYaml = at(configMap, 'data', basename(configPath)) as string;

    const config = loadRelayConfig(relayYaml, deployment);
    expect([...config.routes.keys()]).toContain('gpt-4.1');
    expect(config).toMatchObject({ fallbacks: new Map([['gpt-4.1', ['claude-sonnet-4']]]) });
    expect(config.aliases.get('deepseek-chat')).toBe('deepseek-v3.2');
    expect(config).toMatchObject({ port: 8080, host: '0.0.0.0', maxRetries: 3, timeoutMs: 30_000, connectionPoolSize: 100, logLevel: 'info' });
    // /metrics on its own port, the container port "metrics"; no token unless the Secret adds one.
    expect(config.metricsPort).toBe(resolvePort(container, 'metrics'));
    expect(config.metricsToken).toBeUndefined();
    expect(config.providers.get('holysheep')?.baseUrl).toBe('https://api.holysheep.ai/v1');
    // And the loader does refuse a bad file, so the check above has teeth.
    expect(() => loadRelayConfig(`${relayYaml}\nmodels:\n  x:\n    targets: []\n`, deployment)).toThrow(ConfigError);

    // The Ingress accepts exactly what the relay accepts.
    const bodyLimit = (parseYaml(relayYaml) as { server: { bodyLimitBytes: number } }).server.bodyLimitBytes;
    expect(config.bodyLimitBytes).toBe(bodyLimit);
    const ingressLimit = only(allObjects, 'Ingress').metadata.annotations?.['nginx.ingress.kubernetes.io/proxy-body-size'];
    expect(ingressLimit).toBe(`${bodyLimit / 1024 / 1024}m`);
  });

  it('configures the Ingress for long streams: nginx class, TLS by cert-manager, no buffering', () => {
    const ingress = only(allObjects, 'Ingress');
    const annotations = ingress.metadata.annotations ?? {};
    expect(at(ingress, 'spec', 'ingressClassName')).toBe('nginx');
    expect(annotations['cert-manager.io/cluster-issuer']).toBeTruthy();
    expect(annotations['nginx.ingress.kubernetes.io/proxy-buffering']).toBe('off');
    const timeoutSeconds = Number(envOf(container).get('TIMEOUT_MS')) / 1000;
    for (const name of ['proxy-read-timeout', 'proxy-send-timeout']) {
      expect(Number(annotations[`nginx.ingress.kubernetes.io/${name}`])).toBe(300);
      expect(Number(annotations[`nginx.ingress.kubernetes.io/${name}`])).toBeGreaterThan(timeoutSeconds);
    }
    const hosts = (at(ingress, 'spec', 'rules') as Array<{ host: string }>).map((rule) => rule.host);
    expect((at(ingress, 'spec', 'tls') as Array<{ hosts: string[] }>).flatMap((tls) => tls.hosts)).toEqual(hosts);
  });

  it('lets the pods reach DNS, HTTPS (and HTTP on 80, as the seed allows) anywhere, and Redis/Postgres — nothing else', () => {
    const policy = only(allObjects, 'NetworkPolicy');
    expect(at(policy, 'spec', 'policyTypes')).toEqual(['Egress']);
    const rules = at(policy, 'spec', 'egress') as Array<{ to?: any[]; ports: Array<{ protocol: string; port: number }> }>;
    const ports = (rule: (typeof rules)[number]) => rule.ports.map((port) => `${port.protocol}/${port.port}`).sort();
    const dns = rules.find((rule) => ports(rule).includes('UDP/53'))!;
    expect(ports(dns)).toEqual(['TCP/53', 'UDP/53']);
    expect(dns.to).toEqual([{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } } }]);
    const https = rules.find((rule) => ports(rule).includes('TCP/443'))!;
    // No `to`: the upstreams are outside the cluster, where a namespaceSelector matches nothing.
    expect(https.to).toBeUndefined();
    expect(ports(https)).toEqual(['TCP/443', 'TCP/80']);
    const state = rules.find((rule) => ports(rule).includes('TCP/6379'))!;
    expect(ports(state)).toEqual(['TCP/5432', 'TCP/6379']);
    expect(state.to).toBeDefined();
    expect(rules.length).toBe(3);
  });

  it('points the Flagger Canary at these objects, with the seed’s analysis', () => {
    expect(at(canary, 'spec', 'targetRef')).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: deployment.metadata.name });
    expect(at(canary, 'spec', 'ingressRef', 'name')).toBe(only(allObjects, 'Ingress').metadata.name);
    const hpa = only(allObjects, 'HorizontalPodAutoscaler');
    expect(at(canary, 'spec', 'autoscalerRef')).toEqual({ apiVersion: hpa.apiVersion, kind: hpa.kind, name: hpa.metadata.name });
    expect(at(canary, 'spec', 'service', 'port')).toBe(80);
    expect(resolvePort(container, at(canary, 'spec', 'service', 'targetPort'))).toBe(8080);
    expect(at(canary, 'spec', 'service', 'apex', 'annotations')).toEqual(service.metadata.annotations);
    expect(at(canary, 'spec', 'service', 'canary', 'annotations')).toEqual(service.metadata.annotations);
    // Flagger's Services get the "metrics" port too (portDiscovery), as service.yaml has it; the
    // canary Ingress Flagger derives keeps routing to "http" only.
    expect(at(canary, 'spec', 'service', 'portName')).toBe('http');
    expect(at(canary, 'spec', 'service', 'portDiscovery')).toBe(true);
    expect(metricsWiringProblems([...applied.filter((object) => object.kind !== 'Service'), canary])).toEqual([]);
    expect(at(canary, 'spec', 'analysis')).toMatchObject({ interval: '1m', threshold: 5, stepWeight: 10, maxWeight: 50 });
    expect(at(canary, 'spec', 'analysis', 'metrics')).toEqual([
      { name: 'request-success-rate', interval: '1m', thresholdRange: { min: 99 } },
      { name: 'request-duration', interval: '1m', thresholdRange: { max: 1000 } },
    ]);
    const webhooks = at(canary, 'spec', 'analysis', 'webhooks') as Array<{ name: string; type: string; metadata: { cmd: string } }>;
    expect(webhooks.map((webhook) => [webhook.name, webhook.type])).toEqual([['validation', 'pre-rollout'], ['load-test', 'rollout']]);
    expect(webhooks[0]!.metadata.cmd).toContain(`http://${service.metadata.name}-canary.${namespace}/ready`);
    const host = (at(only(allObjects, 'Ingress'), 'spec', 'rules') as Array<{ host: string }>)[0]!.host;
    expect(webhooks[1]!.metadata.cmd).toContain(`https://${host}/health`);
  });
});
