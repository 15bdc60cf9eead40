import { parse as parseYaml } from 'yaml';
import type { KubeObject } from '../../support/kubernetes-validation/kube-object.js';

/** What only Helm adds: its chart and manager labels, and the checksums that roll the pods. */
export function withoutHelmBookkeeping(object: KubeObject): KubeObject {
  const copy = structuredClone(object) as any;
  const clean = (metadata: any) => {
    if (metadata?.labels) {
      delete metadata.labels['helm.sh/chart'];
      delete metadata.labels['app.kubernetes.io/managed-by'];
    }
    if (metadata?.annotations) {
      for (const key of Object.keys(metadata.annotations)) if (key.startsWith('checksum/')) delete metadata.annotations[key];
      if (Object.keys(metadata.annotations).length === 0) delete metadata.annotations;
    }
  };
  clean(copy.metadata);
  clean(copy.spec?.template?.metadata);
  // relay.yaml is compared as data: the chart renders it from values, without the comments.
  if (copy.kind === 'ConfigMap' && typeof copy.data?.['relay.yaml'] === 'string') copy.data['relay.yaml'] = parseYaml(copy.data['relay.yaml']);
  return copy as KubeObject;
}

/** Objects from the chart and from deploy/kubernetes in one comparable form and order. */
export const comparableObjects = (objects: KubeObject[]): KubeObject[] =>
  [...objects].map(withoutHelmBookkeeping).sort((a, b) => `${a.kind}/${a.metadata.name}`.localeCompare(`${b.kind}/${b.metadata.name}`));
