import type { KubeObject } from '../../support/kubernetes-validation/kube-object.js';
import { at, envOf, only, relayContainerOf } from './manifest-accessors.js';

interface ServicePort {
  name?: string;
  port: number;
  targetPort?: number | string;
}

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

/**
 * The ports of the Service in front of the relay: the Service itself, or, with a Flagger Canary
 * and no Service, the ones Flagger makes — `spec.service` (port, portName, targetPort) and, with
 * portDiscovery, every other named container port under its name and number.
 */
function servicePortsOf(objects: KubeObject[], named: Map<string, number>): ServicePort[] {
  const services = objects.filter((object) => object.kind === 'Service');
  if (services.length > 0) return at(only(objects, 'Service'), 'spec', 'ports') as ServicePort[];
  const service = at(only(objects, 'Canary'), 'spec', 'service') as { port: number; portName?: string; targetPort?: number | string; portDiscovery?: boolean };
  const main: ServicePort = { name: service.portName ?? 'http', port: service.port, targetPort: service.targetPort ?? service.port };
  // Flagger's getPorts: every named container port but the one spec.service already targets.
  const targeted = (name: string, port: number) =>
    service.targetPort === undefined ? port === service.port : typeof service.targetPort === 'number' ? port === service.targetPort : name === service.targetPort;
  const discovered = service.portDiscovery
    ? [...named].filter(([name, port]) => !targeted(name, port)).map(([name, port]) => ({ name, port, targetPort: port }))
    : [];
  return [main, ...discovered];
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
 * for Flagger's Services) and every ServiceMonitor endpoint must point at it. An empty list when
 * the objects are wired right; each problem says what points where.
 */
export function metricsWiringProblems(objects: KubeObject[]): string[] {
  const problems: string[] = [];
  const deployment = only(objects, 'Deployment');
  const { api, metrics, metricsPortEnv, named } = relayPorts(deployment);
  const servicePorts = servicePortsOf(objects, named);
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
