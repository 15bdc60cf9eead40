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
  let leastBad: Deployment | undefined;
  for (const group of groups) {
    for (const deployment of group) {
      if (options.exclude.has(deployment)) continue;
      if (leastBad === undefined || deployment.health.availableAt() < leastBad.health.availableAt()) leastBad = deployment;
    }
  }
  return leastBad;
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
