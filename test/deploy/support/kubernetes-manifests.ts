import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { KubeObject } from '../../support/kubernetes-validation/kube-object.js';
import { parseManifests } from '../../support/kubernetes-validation/parse-manifests.js';
import { repository } from './repository.js';

function read(file: string): KubeObject[] {
  return parseManifests(readFileSync(join(repository.kubernetesDir, file), 'utf8'), `deploy/kubernetes/${file}`);
}

const files = readdirSync(repository.kubernetesDir).filter((file) => file.endsWith('.yaml') && file !== 'kustomization.yaml').sort();
const kustomization = parseYaml(readFileSync(join(repository.kubernetesDir, 'kustomization.yaml'), 'utf8')) as { resources: string[] };
const byFile = new Map(files.map((file) => [file, read(file)] as const));

/**
 * deploy/kubernetes, parsed once: every manifest file, its objects, and `applied` — what
 * `kubectl apply -k` creates (the kustomization's resources, so not the Secret template or Canary).
 */
export const kubernetesManifests = {
  files,
  kustomization,
  byFile,
  all: [...byFile.values()].flat(),
  applied: kustomization.resources.flatMap((file) => byFile.get(file) ?? []),
  read,
};
