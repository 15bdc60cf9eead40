import type { KubeObject } from '../../support/kubernetes-validation/kube-object.js';
import { at, envOf, only, relayContainerOf } from './manifest-accessors.js';
import { selects, servicesInFront, type ServicePort } from './services-in-front.js';

/** A backend's `port`: a Service port's name or number. */
type PortReference = { name?: string; number?: number };

/**
 * The container ports of the relay, as the relay uses them: `api` is PORT (every route), `metrics`
 * is where /metrics answers — METRICS_PORT when set (then only there: PORT answers it with 404),
 * else PORT. `named` maps each named container port to its number.
 */
export function relayPorts(deployment: KubeObject): { api: number; metrics: number; metricsPortEnv: number | undefined; named: Map<string, number> } {
  const container = relayContainerOf(deployment);
  const env = envOf(container);
  const named = new Map(((container.ports ?? []) as Array<{ name?: string; containerPort: number }>).filter((port) => port.name).map((port) => [port.name!, port.containerPort]));
  const api = Number(env.get('PORT') ?? 8080);
  const metricsPortEnv = env.has('METRICS_PORT') ? Number(env.get('METRICS_PORT')) : undefined;
  return { api, metrics: metricsPortEnv ?? api, metricsPortEnv, named };
}

/** The container port behind a Service port (its targetPort by name or number, else its port). */
function containerPortBehind(servicePort: ServicePort, named: Map<string, number>): number | undefined {
  const target = servicePort.targetPort ?? servicePort.port;
  return typeof target === 'number' ? target : named.get(target);
}

/**
 * Everything that would put /metrics where it must not be, or scrape it where it is not: the
 * Ingress must reach the API port only (never the metrics port), METRICS_PORT must be the
 * container port named "metrics" (and not PORT), the Service must carry that port so a
 * ServiceMonitor can name it, and the prometheus.io/port annotations (the Service's, the Canary's
 * for Flagger's Services) and every ServiceMonitor endpoint must point at it, and a ServiceMonitor
 * must select Services that reach every relay pod once (Flagger's primary and canary pods alike).
 * An empty list when the objects are wired right; each problem says what points where.
 */
export function metricsWiringProblems(objects: KubeObject[]): string[] {
  const problems: string[] = [];
  const deployment = only(objects, 'Deployment');
  const { api, metrics, metricsPortEnv, named } = relayPorts(deployment);
  const { services, podGroups } = servicesInFront(objects, named);
  const servicePorts = services[0]!.ports;
  const resolve = (reference: PortReference | string | number): ServicePort | undefined => {
    const ref = typeof reference === 'object' ? reference : typeof reference === 'string' ? { name: reference } : { number: reference };
    return servicePorts.find((port) => (ref.name !== undefined ? port.name === ref.name : port.port === ref.number));
  };

  if (named.get('http') !== api) problems.push(`the container port "http" is ${named.get('http')}, PORT is ${api}`);
  if (metricsPortEnv !== undefined) {
    if (named.get('metrics') !== metricsPortEnv) problems.push(`METRICS_PORT is ${metricsPortEnv}, the container port "metrics" is ${named.get('metrics')}`);
    if (metricsPortEnv === api) problems.push(`METRICS_PORT is PORT (${api}): the relay cannot listen twice on it`);
    const exposed = servicePorts.find((port) => containerPortBehind(port, named) === metricsPortEnv);
    if (!exposed) problems.push(`no Service port reaches the metrics port ${metricsPortEnv}`);
    else if (exposed.name !== 'metrics') problems.push(`the Service port to the metrics port is named "${exposed.name}", not "metrics"`);
  } else if (named.has('metrics')) {
    problems.push(`a container port "metrics" (${named.get('metrics')}) without METRICS_PORT: the relay serves /metrics on PORT`);
  }

  for (const ingress of objects.filter((object) => object.kind === 'Ingress')) {
    const backends = (at(ingress, 'spec', 'rules') as Array<{ http?: { paths: Array<{ backend: any }> } }>).flatMap((rule) => rule.http?.paths ?? []).map((path) => path.backend);
    const defaultBackend = (ingress.spec as { defaultBackend?: unknown } | undefined)?.defaultBackend;
    if (defaultBackend) backends.push(defaultBackend);
    for (const backend of backends) {
      const reference = backend.service?.port as PortReference | undefined;
      const target = reference && resolve(reference);
      const where = `Ingress ${ingress.metadata.name} → ${JSON.stringify(reference)}`;
      if (!target) problems.push(`${where}: no such Service port`);
      else if (target.name !== 'http') problems.push(`${where}: the Service port "${target.name}", not "http"`);
      const containerPort = target && containerPortBehind(target, named);
      if (target && containerPort !== api) problems.push(`${where}: reaches container port ${containerPort}, not the API's ${api}`);
      if (metricsPortEnv !== undefined && containerPort === metricsPortEnv) problems.push(`${where}: exposes the metrics port`);
    }
  }

  const annotated: Array<[string, Record<string, string> | undefined]> = [];
  for (const service of objects.filter((object) => object.kind === 'Service')) annotated.push([`Service ${service.metadata.name}`, service.metadata.annotations]);
  for (const canary of objects.filter((object) => object.kind === 'Canary')) {
    for (const which of ['apex', 'primary', 'canary']) annotated.push([`Canary ${canary.metadata.name} ${which}`, at(canary, 'spec', 'service')[which]?.annotations]);
  }
  for (const [where, annotations] of annotated) {
    const port = annotations?.['prometheus.io/port'];
    if (port !== undefined && Number(port) !== metrics) problems.push(`${where}: prometheus.io/port is ${port}, /metrics is on ${metrics}`);
    if (annotations?.['prometheus.io/scrape'] === 'true' && port === undefined) problems.push(`${where}: scraped without prometheus.io/port`);
  }

  for (const monitor of objects.filter((object) => object.kind === 'ServiceMonitor')) {
    // Each relay pod once: a pod behind no selected Service goes unscraped, one behind two is
    // counted twice (Flagger's apex and -primary Services both reach the primary pods).
    const selected = services.filter((service) => selects(at(monitor, 'spec', 'selector'), service.labels));
    for (const group of podGroups) {
      const through = selected.filter((service) => Object.entries(service.selector).every(([key, value]) => group.labels[key] === value)).map((service) => service.name);
      if (through.length !== 1) problems.push(`ServiceMonitor ${monitor.metadata.name}: the ${group.name} pods are scraped through ${through.length} Services (${through.join(', ') || 'none'}), not 1`);
    }
    for (const endpoint of at(monitor, 'spec', 'endpoints') as Array<{ port?: string; path?: string }>) {
      const where = `ServiceMonitor ${monitor.metadata.name} → ${endpoint.port}`;
      const target = endpoint.port === undefined ? undefined : resolve(endpoint.port);
      if (!target) problems.push(`${where}: no such Service port`);
      else if (containerPortBehind(target, named) !== metrics) problems.push(`${where}: reaches container port ${containerPortBehind(target, named)}, /metrics is on ${metrics}`);
      if (metricsPortEnv !== undefined && endpoint.port !== 'metrics') problems.push(`${where}: not the "metrics" port`);
      if (endpoint.path !== '/metrics') problems.push(`${where}: path ${endpoint.path}`);
    }
  }
  return problems;
}
