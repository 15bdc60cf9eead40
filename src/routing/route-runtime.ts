import type { RoutingStrategy } from '../config/relay-config.js';
import type { CanaryController } from './canary-controller.js';
import type { Deployment } from './deployment.js';
import type { ShadowMirror } from './shadow-mirror.js';

/** A served model at run time: its deployments in ordered groups, and its canary and shadow. */
export class RouteRuntime {
  constructor(
    readonly model: string,
    readonly groups: readonly (readonly Deployment[])[],
    readonly strategy: RoutingStrategy,
    readonly canary: { controller: CanaryController; group: readonly Deployment[] } | undefined,
    readonly shadow: ShadowMirror | undefined,
    /** Per-attempt timeout of this model's attempts, when its route sets one. */
    readonly timeoutMs?: number,
  ) {}

  /**
   * The groups for one request. With a canary, a request on the candidate's side tries the candidate
   * first and keeps the stable deployments behind it, so a failing candidate costs clients nothing
   * while the analysis still counts its failure.
   */
  groupsFor(stickyKey: string): readonly (readonly Deployment[])[] {
    if (this.canary === undefined) return this.groups;
    if (!this.canary.controller.routesToCandidate(stickyKey)) return this.groups;
    // A request meant for an ejected candidate is a failure the analysis must see, not a silent skip;
    // one while it is only cooled (a 429's retry-after) or its probe is under way is no failure of it.
    if (this.canary.group.every((deployment) => deployment.health.isEjected())) this.canary.controller.record(false, 0);
    return [this.canary.group, ...this.groups];
  }

  /** Whether a deployment is this route's canary candidate. */
  isCandidate(deployment: Deployment): boolean {
    return this.canary !== undefined && this.canary.group.includes(deployment);
  }

  /** Tells the canary analysis how a candidate attempt went. */
  observe(deployment: Deployment, ok: boolean, latencyMs: number): void {
    if (this.canary !== undefined && this.canary.group.includes(deployment)) this.canary.controller.record(ok, latencyMs);
  }
}
