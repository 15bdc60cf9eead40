import { kindKey, type KubeObject } from './kube-object.js';
import { kubernetesKinds } from './kubernetes-kinds.js';

/**
 * Validates one built-in object against the Kubernetes JSON Schemas (kubernetes-models), whose
 * validate() throws a ValidationError listing `data/<path> <problem>`; an unknown kind is a problem
 * too, so a new manifest cannot slip past unchecked.
 */
export function kubernetesSchemaProblems(object: KubeObject): string[] {
  const kind = kubernetesKinds[kindKey(object)];
  if (!kind) return [`no Kubernetes schema for ${kindKey(object)}`];
  try {
    new kind.model(object).validate();
    return [];
  } catch (error) {
    return [`${object.kind}/${object.metadata.name}: ${error instanceof Error ? error.message : String(error)}`];
  }
}
