import type { RoutingStrategy } from '../config/relay-config.js';
import type { Deployment } from './deployment.js';

export interface SelectOptions {
  strategy: RoutingStrategy;
  /** Deployments that already failed this request. */
  exclude: ReadonlySet<Deployment>;
  random: () => number;
  /** Price of a deployment per 1M tokens, for the cost strategy (undefined: unknown, picked last). */
  priceOf: (deployment: Deployment) => number | undefined;
}

/**
 * Picks the deployment for the next attempt: the first group that has a healthy deployment not yet
 * tried, and within it the one the strategy prefers. When every untried deployment is ejected, the
 * least bad one (the one that becomes available first) is tried rather than failing outright.
 */
export function selectDeployment(groups: readonly (readonly Deployment[])[], options: SelectOptions): Deployment | undefined {
  return selectAvailable(groups, options) ?? leastBad(groups, options.exclude);
}

/**
 * Picks another deployment after a failure: a healthy one not yet tried, as `selectDeployment`
 * does, but an ejected or cooled one only when no deployment of the groups is available at all.
 * While one that failed the request is healthy, there is none: the request's retry goes to it after
 * its back-off, not to a deployment known to be failing (one ejected for a refused key would end
 * the request with its 401, its retries unused).
 */
export function selectOtherDeployment(groups: readonly (readonly Deployment[])[], options: SelectOptions): Deployment | undefined {
  const healthy = selectAvailable(groups, options);
  if (healthy !== undefined) return healthy;
  return hasAvailable(groups) ? undefined : leastBad(groups, options.exclude);
}

/** Whether a deployment of the groups (other than `except`) can take a request now. */
export function hasAvailable(groups: readonly (readonly Deployment[])[], except?: Deployment): boolean {
  for (const group of groups) for (const deployment of group) if (deployment !== except && deployment.health.isAvailable()) return true;
  return false;
}

/** The first group's healthy deployment not yet tried, the one the strategy prefers; undefined when there is none. */
function selectAvailable(groups: readonly (readonly Deployment[])[], options: SelectOptions): Deployment | undefined {
  for (const group of groups) {
    // Most groups hold one deployment: answered without building the list of healthy ones.
    if (group.length === 1) {
      const only = group[0] as Deployment;
      if (!options.exclude.has(only) && only.health.isAvailable()) return only;
      continue;
    }
    const healthy = group.filter((deployment) => !options.exclude.has(deployment) && deployment.health.isAvailable());
    if (healthy.length > 0) return pick(healthy, options);
  }
  return undefined;
}

/** The deployment not yet tried that becomes available first. */
function leastBad(groups: readonly (readonly Deployment[])[], exclude: ReadonlySet<Deployment>): Deployment | undefined {
  let found: Deployment | undefined;
  for (const group of groups) {
    for (const deployment of group) {
      if (exclude.has(deployment)) continue;
      if (found === undefined || deployment.health.availableAt() < found.health.availableAt()) found = deployment;
    }
  }
  return found;
}

function pick(candidates: Deployment[], options: SelectOptions): Deployment {
  if (candidates.length === 1) return candidates[0] as Deployment;
  switch (options.strategy) {
    case 'least-inflight':
      return lowest(candidates, (deployment) => deployment.inflight, options.random);
    case 'latency':
      // An unmeasured deployment counts as fastest, so that it gets measured.
      return lowest(candidates, (deployment) => deployment.firstByteEwmaMs ?? 0, options.random);
    case 'cost':
      return lowest(candidates, (deployment) => options.priceOf(deployment) ?? Number.POSITIVE_INFINITY, options.random);
    default:
      return weighted(candidates, options.random);
  }
}

function weighted(candidates: Deployment[], random: () => number): Deployment {
  const total = candidates.reduce((sum, deployment) => sum + deployment.weight, 0);
  if (total <= 0) return candidates[Math.floor(random() * candidates.length)] as Deployment;
  let point = random() * total;
  for (const deployment of candidates) {
    point -= deployment.weight;
    if (point < 0) return deployment;
  }
  return candidates[candidates.length - 1] as Deployment;
}

function lowest(candidates: Deployment[], score: (deployment: Deployment) => number, random: () => number): Deployment {
  let best: Deployment[] = [];
  let bestScore = Number.POSITIVE_INFINITY;
  for (const deployment of candidates) {
    const value = score(deployment);
    if (value < bestScore) {
      bestScore = value;
      best = [deployment];
    } else if (value === bestScore) {
      best.push(deployment);
    }
  }
  // Ties are broken at random so that equal deployments share the load.
  return best[Math.floor(random() * best.length)] ?? (candidates[0] as Deployment);
}
