import { parseAllDocuments } from 'yaml';
import type { KubeObject } from './kube-object.js';

/**
 * Splits a multi-document YAML stream into Kubernetes objects. Kubernetes reads YAML as YAML 1.1
 * (sigs.k8s.io/yaml): `off` is false there, `"off"` a string — so the manifests are read the same
 * way, and duplicate keys (which the API server silently collapses) are refused.
 */
export function parseManifests(text: string, source: string): KubeObject[] {
  const objects: KubeObject[] = [];
  for (const document of parseAllDocuments(text, { version: '1.1', uniqueKeys: true })) {
    if (document.errors.length > 0) throw new Error(`${source}: ${document.errors.map((error) => error.message).join('; ')}`);
    const value = document.toJS() as unknown;
    if (value === null || value === undefined) continue;
    if (typeof value !== 'object' || Array.isArray(value)) throw new Error(`${source}: a document is not an object`);
    const object = value as KubeObject;
    if (typeof object.apiVersion !== 'string' || typeof object.kind !== 'string' || typeof object.metadata?.name !== 'string') {
      throw new Error(`${source}: an object lacks apiVersion, kind or metadata.name`);
    }
    objects.push(object);
  }
  return objects;
}
