/**
 * deploy/kubernetes as files and objects: which manifests exist, that each one is valid for the
 * cluster (Kubernetes JSON Schemas, a TypeScript check for unknown fields, Flagger's Canary
 * schema), what kustomization.yaml applies, and the namespace and labels every object carries.
 * How the objects fit together is in manifest-consistency.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { customResourceValidators } from '../support/kubernetes-validation/custom-resource-validators.js';
import { ajvProblems } from '../support/kubernetes-validation/json-schema.js';
import type { KubeObject } from '../support/kubernetes-validation/kube-object.js';
import { kubernetesSchemaProblems } from '../support/kubernetes-validation/kubernetes-schema-problems.js';
import { parseManifests } from '../support/kubernetes-validation/parse-manifests.js';
import { unknownFieldProblems } from '../support/kubernetes-validation/unknown-field-problems.js';
import { validateManifests } from '../support/kubernetes-validation/validate-manifests.js';
import { kubernetesManifests } from './support/kubernetes-manifests.js';
import { at, only, relayContainerOf } from './support/manifest-accessors.js';
import { repository } from './support/repository.js';

const { files: manifestFiles, byFile, all: allObjects, applied, kustomization } = kubernetesManifests;
const { kubernetesDir, packageVersion } = repository;
const validateCanary = customResourceValidators['flagger.app/v1beta1/Canary'];
const kubectlAvailable = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0;

describe('deploy/kubernetes', () => {
  const namespace = only(allObjects, 'Namespace').metadata.name;
  const deployment = only(allObjects, 'Deployment');
  const container = relayContainerOf(deployment);
  const podLabels = at(deployment, 'spec', 'template', 'metadata', 'labels') as Record<string, string>;
  const canary = only(allObjects, 'Canary');

  it('parses into the expected objects, one file per object', () => {
    expect(manifestFiles).toEqual([
      'canary.yaml', 'configmap.yaml', 'deployment.yaml', 'hpa.yaml', 'ingress.yaml', 'namespace.yaml', 'networkpolicy.yaml', 'pdb.yaml',
      'secret.example.yaml', 'service.yaml', 'serviceaccount.yaml',
    ]);
    for (const [file, objects] of byFile) expect(objects.length, file).toBe(1);
  });

  it('validates every object against the Kubernetes schemas, and the Canary against Flagger’s', () => {
    expect(validateManifests(allObjects)).toEqual([]);
  });

  it('has validators that catch what they should (wrong types, unknown fields, invalid Canary fields)', () => {
    const broken = structuredClone(deployment) as any;
    broken.spec.template.spec.containers[0].ports[0].containerPort = '8080';
    expect(kubernetesSchemaProblems(broken).join()).toMatch(/containerPort must be integer/);
    const misspelt = structuredClone(deployment) as any;
    misspelt.spec.template.spec.containers[0].livenesProbe = {};
    expect(unknownFieldProblems([misspelt]).join()).toMatch(/livenesProbe/);
    // The seed's own Canary fields: no such field, no such webhook types, no such built-in metric.
    const seedLike = structuredClone(canary) as any;
    seedLike.spec.progressThreshold = 5;
    seedLike.spec.analysis.webhooks[0].type = 'confirm';
    seedLike.spec.analysis.metrics[1].name = 'latency';
    expect(validateCanary(seedLike)).toBe(false);
    const problems = ajvProblems(validateCanary.errors).join('\n');
    expect(problems).toContain('progressThreshold');
    expect(problems).toContain('/spec/analysis/webhooks/0/type');
    expect(problems).toContain('/spec/analysis/metrics/1/name');
  });

  it('lists every manifest in kustomization.yaml but the Secret template and the Flagger Canary', () => {
    expect([...kustomization.resources].sort()).toEqual(manifestFiles.filter((file) => !['secret.example.yaml', 'canary.yaml'].includes(file)));
  });

  it.skipIf(!kubectlAvailable)('builds with `kubectl kustomize` into exactly those objects', () => {
    const built = spawnSync('kubectl', ['kustomize', kubernetesDir], { encoding: 'utf8' });
    expect(built.status, built.stderr).toBe(0);
    const key = (object: KubeObject) => `${object.kind}/${object.metadata.name}`;
    const objects = parseManifests(built.stdout, 'kubectl kustomize').sort((a, b) => key(a).localeCompare(key(b)));
    expect(objects).toEqual([...applied].sort((a, b) => key(a).localeCompare(key(b))));
  });

  it('puts every object in the relay namespace, with the standard labels and the package version', () => {
    for (const object of allObjects.filter((candidate) => candidate.kind !== 'Namespace')) {
      const where = `${object.kind}/${object.metadata.name}`;
      expect(object.metadata.namespace, where).toBe(namespace);
      expect(object.metadata.labels, where).toEqual({
        'app.kubernetes.io/name': 'relay',
        'app.kubernetes.io/instance': 'relay',
        'app.kubernetes.io/version': packageVersion,
        'app.kubernetes.io/part-of': 'llm-relay',
      });
    }
    expect(podLabels['app.kubernetes.io/version']).toBe(packageVersion);
    expect(container.image).toMatch(new RegExp(`:${packageVersion.replaceAll('.', '\\.')}$`));
  });
});
