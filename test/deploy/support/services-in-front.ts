import type { KubeObject } from '../../support/kubernetes-validation/kube-object.js';
import { at, only } from './manifest-accessors.js';

export interface ServicePort {
  name?: string;
  port: number;
  targetPort?: number | string;
}

/** A Service in front of the relay's pods, as the cluster will have it. */
export interface FrontService {
  name: string;
  labels: Record<string, string>;
  selector: Record<string, string>;
  ports: ServicePort[];
}

/** A set of relay pods that one Service selector tells apart: all of them, or Flagger's primary or canary pods. */
export interface PodGroup {
  name: string;
  labels: Record<string, string>;
}

/**
 * The Services in front of the relay and the pods behind them: the Service of the objects, or, with
 * a Flagger Canary and no Service, the three Flagger makes (fluxcd/flagger pkg/router/kubernetes_default.go).
 * Flagger labels each of them with the Deployment's one selector label set to the Service's own
 * name, over the labels of `spec.service.<apex|primary|canary>`, and routes the apex <target> and
 * <target>-primary to the primary pods (that label set to <target>-primary), <target>-canary to the
 * canary pods (the Deployment's own labels). Ports: `spec.service` (port, portName, targetPort)
 * and, with portDiscovery, every other named container port under its name and number.
 */
export function servicesInFront(objects: KubeObject[], named: Map<string, number>): { services: FrontService[]; podGroups: PodGroup[] } {
  const deployment = only(objects, 'Deployment');
  const podLabels = at(deployment, 'spec', 'template', 'metadata', 'labels') as Record<string, string>;
  if (objects.some((object) => object.kind === 'Service')) {
    const service = only(objects, 'Service');
    const labels = service.metadata.labels ?? {};
    const selector = at(service, 'spec', 'selector') as Record<string, string>;
    return { services: [{ name: service.metadata.name, labels, selector, ports: at(service, 'spec', 'ports') as ServicePort[] }], podGroups: [{ name: 'relay', labels: podLabels }] };
  }
  const canary = only(objects, 'Canary');
  const service = at(canary, 'spec', 'service') as {
    port: number;
    portName?: string;
    targetPort?: number | string;
    portDiscovery?: boolean;
    name?: string;
  } & Partial<Record<'apex' | 'primary' | 'canary', { labels?: Record<string, string> }>>;
  const main: ServicePort = { name: service.portName ?? 'http', port: service.port, targetPort: service.targetPort ?? service.port };
  // Flagger's getPorts: every named container port but the one spec.service already targets.
  const targeted = (name: string, port: number) =>
    service.targetPort === undefined ? port === service.port : typeof service.targetPort === 'number' ? port === service.targetPort : name === service.targetPort;
  const discovered = service.portDiscovery
    ? [...named].filter(([name, port]) => !targeted(name, port)).map(([name, port]) => ({ name, port, targetPort: port }))
    : [];
  const ports = [main, ...discovered];
  const target = at(canary, 'spec', 'targetRef', 'name') as string;
  const [selectorLabel] = Object.keys(at(deployment, 'spec', 'selector', 'matchLabels') as object) as [string];
  const apex = service.name ?? target;
  const made = (which: 'apex' | 'primary' | 'canary', name: string, pods: string): FrontService => ({
    name,
    labels: { ...service[which]?.labels, [selectorLabel]: name },
    selector: { [selectorLabel]: pods },
    ports,
  });
  return {
    services: [made('apex', apex, `${target}-primary`), made('primary', `${apex}-primary`, `${target}-primary`), made('canary', `${apex}-canary`, target)],
    podGroups: [
      { name: 'primary', labels: { ...podLabels, [selectorLabel]: `${target}-primary` } },
      { name: 'canary', labels: podLabels },
    ],
  };
}

interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }>;
}

/** Whether a Kubernetes label selector (matchLabels and matchExpressions) selects these labels. */
export function selects(selector: LabelSelector, labels: Record<string, string>): boolean {
  const byLabels = Object.entries(selector.matchLabels ?? {}).every(([key, value]) => labels[key] === value);
  const byExpressions = (selector.matchExpressions ?? []).every(({ key, operator, values = [] }) => {
    if (operator === 'Exists') return key in labels;
    if (operator === 'DoesNotExist') return !(key in labels);
    if (operator === 'In') return key in labels && values.includes(labels[key]!);
    return !(key in labels) || !values.includes(labels[key]!);
  });
  return byLabels && byExpressions;
}
