import { customResourceValidators } from './custom-resource-validators.js';
import { ajvProblems } from './json-schema.js';
import { kindKey, type KubeObject } from './kube-object.js';
import { kubernetesSchemaProblems } from './kubernetes-schema-problems.js';
import { unknownFieldProblems } from './unknown-field-problems.js';

/**
 * Every problem with a set of objects: custom resources against their focused JSON Schemas,
 * built-in kinds against the Kubernetes schemas, then all of them through the TypeScript check
 * for unknown fields. An empty list means the cluster would take them as written.
 */
export function validateManifests(objects: KubeObject[]): string[] {
  const problems: string[] = [];
  for (const object of objects) {
    const key = kindKey(object);
    if (key === 'flagger.app/v1beta1/Canary') {
      const validate = customResourceValidators[key];
      if (!validate(object)) problems.push(...ajvProblems(validate.errors).map((problem) => `Canary/${object.metadata.name}: ${problem}`));
    } else if (key === 'monitoring.coreos.com/v1/ServiceMonitor') {
      const validate = customResourceValidators[key];
      if (!validate(object)) problems.push(...ajvProblems(validate.errors));
    } else {
      problems.push(...kubernetesSchemaProblems(object));
    }
  }
  return [...problems, ...unknownFieldProblems(objects)];
}
