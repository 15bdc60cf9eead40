import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** Where the packaging lives, and the version every image tag and label must carry. */
export const repository = {
  root,
  kubernetesDir: join(root, 'deploy/kubernetes'),
  chartDir: join(root, 'deploy/helm/relay'),
  packageVersion: (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version,
};
