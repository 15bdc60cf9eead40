/** A Kubernetes object as parsed from YAML; tests read its other fields through `at()`. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

/** `apps/v1/Deployment`: the key that picks an object's schema. */
export const kindKey = (object: KubeObject): string => `${object.apiVersion}/${object.kind}`;
