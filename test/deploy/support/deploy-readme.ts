import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { KubeObject } from '../../support/kubernetes-validation/kube-object.js';
import { applyJsonPatch } from './apply-json-patch.js';
import { repository } from './repository.js';

interface KustomizePatch {
  target?: { kind?: string; name?: string };
  patch?: string;
}

/** deploy/README.md's ```yaml blocks, parsed: the recipes it gives beside the manifests. */
function readmeBlocks(): unknown[] {
  const readme = readFileSync(join(repository.root, 'deploy/README.md'), 'utf8');
  return [...readme.matchAll(/^```yaml\n([\s\S]*?)^```$/gm)].map((match) => parseYaml(match[1]!) as unknown);
}

/**
 * deploy/README.md's Kustomize recipe for one replica on SQLite: its `patches` entry for the
 * Deployment (a JSON Patch), applied to `deployment` as `kubectl apply -k` would apply it.
 */
export function readmeSinglePodPatch(deployment: KubeObject): KubeObject {
  const patches = readmeBlocks()
    .flatMap((block) => (block as { patches?: KustomizePatch[] } | null)?.patches ?? [])
    .filter((entry) => entry.target?.kind === 'Deployment');
  if (patches.length !== 1) throw new Error(`deploy/README.md: expected one Kustomize patch of the Deployment, found ${patches.length}`);
  const [patch] = patches as [KustomizePatch];
  if (patch.target?.name !== deployment.metadata.name) throw new Error(`deploy/README.md patches Deployment ${patch.target?.name}, not ${deployment.metadata.name}`);
  return applyJsonPatch(deployment, parseYaml(patch.patch ?? '') as Array<{ op: string; path: string; value?: unknown }>);
}
