import type { KubeObject } from '../../support/kubernetes-validation/kube-object.js';

/**
 * Reading parsed manifests in assertions. Each accessor throws with a path or a count when the
 * thing is missing, so a failing test says what it looked for instead of "undefined".
 */

/** The one object of a kind (and name); anything but exactly one is an error. */
export function only(objects: KubeObject[], kind: string, name?: string): KubeObject {
  const found = objects.filter((object) => object.kind === kind && (name === undefined || object.metadata.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`);
  return found[0]!;
}

/** Walks a parsed object by keys and indexes; throws with the path when something is missing. */
export function at(value: unknown, ...path: Array<string | number>): any {
  let current: any = value;
  for (const [index, key] of path.entries()) {
    if (current === null || current === undefined || typeof current !== 'object') {
      throw new Error(`nothing at ${path.slice(0, index + 1).join('.')}`);
    }
    current = current[key];
  }
  return current;
}

export function podSpecOf(deployment: KubeObject): any {
  return at(deployment, 'spec', 'template', 'spec');
}

export function relayContainerOf(deployment: KubeObject): any {
  const containers = podSpecOf(deployment).containers as Array<{ name: string }>;
  const container = containers.find((candidate) => candidate.name === 'relay');
  if (!container) throw new Error('no container named relay');
  return container;
}

/** A container's plain `env` values (entries with valueFrom are left out). */
export function envOf(container: any): Map<string, string> {
  const env = new Map<string, string>();
  for (const entry of (container.env ?? []) as Array<{ name: string; value?: string }>) {
    if (entry.value !== undefined) env.set(entry.name, entry.value);
  }
  return env;
}

/** Whether a matchLabels selector selects these labels. */
export function matches(selector: Record<string, string>, labels: Record<string, string> | undefined): boolean {
  return Object.entries(selector).every(([key, value]) => labels?.[key] === value);
}

/** A container port by number or name. */
export function resolvePort(container: any, port: number | string): number {
  if (typeof port === 'number') return port;
  const found = (container.ports as Array<{ name?: string; containerPort: number }>).find((candidate) => candidate.name === port);
  if (!found) throw new Error(`no container port named ${port}`);
  return found.containerPort;
}
