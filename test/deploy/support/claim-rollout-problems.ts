import type { KubeObject } from '../../support/kubernetes-validation/kube-object.js';
import { at, podSpecOf } from './manifest-accessors.js';

/**
 * What would hang a rollout of a one-pod Deployment on a PersistentVolumeClaim: a ReadWriteOnce
 * claim attaches to one node, so a RollingUpdate that surges starts the new pod while the old one
 * still holds it, and an anti-affinity sends that pod to another node, where it waits on
 * "Multi-Attach error" and the rollout never finishes. Empty when the pods mount no claim, or when
 * there are several (an HPA's, or `replicas` above 1: they need a ReadWriteMany volume anyway).
 */
export function claimRolloutProblems(deployment: KubeObject, objects: KubeObject[] = []): string[] {
  const claims = ((podSpecOf(deployment).volumes ?? []) as Array<{ name: string; persistentVolumeClaim?: { claimName: string } }>).filter(
    (volume) => volume.persistentVolumeClaim !== undefined,
  );
  const scaled = objects.some((object) => object.kind === 'HorizontalPodAutoscaler' && at(object, 'spec', 'scaleTargetRef', 'name') === deployment.metadata.name);
  const replicas = at(deployment, 'spec').replicas ?? 1;
  if (claims.length === 0 || scaled || replicas !== 1) return [];
  const problems: string[] = [];
  const where = `one pod on the claim ${claims.map((volume) => volume.persistentVolumeClaim!.claimName).join(', ')}`;
  const strategy = (at(deployment, 'spec').strategy ?? { type: 'RollingUpdate' }) as { type?: string; rollingUpdate?: { maxSurge?: number | string } };
  // Kubernetes' default maxSurge is 25 %, which rounds up to one pod.
  const surge = strategy.rollingUpdate?.maxSurge ?? '25%';
  if (strategy.type !== 'Recreate' && surge !== 0 && surge !== '0%') {
    problems.push(`${where}: a RollingUpdate with maxSurge ${surge} starts the new pod while the old one holds the claim (strategy Recreate, or maxSurge 0)`);
  }
  const antiAffinity = podSpecOf(deployment).affinity?.podAntiAffinity;
  if (antiAffinity !== undefined) problems.push(`${where}: a pod anti-affinity sends the next pod away from the node the claim is attached to`);
  return problems;
}
