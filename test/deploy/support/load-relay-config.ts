import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../src/config/load-config.js';
import type { KubeObject } from '../../support/kubernetes-validation/kube-object.js';
import { envOf, relayContainerOf } from './manifest-accessors.js';

/**
 * Loads a ConfigMap's relay.yaml through the relay's own loader, with the Deployment's env and the
 * Secret's required keys — what the pod would do at start, so a config the relay refuses fails here.
 */
export function loadRelayConfig(relayYaml: string, deployment: KubeObject) {
  const directory = mkdtempSync(join(tmpdir(), 'relay-deploy-'));
  const file = join(directory, 'relay.yaml');
  writeFileSync(file, relayYaml);
  const environment: Record<string, string> = {
    ...Object.fromEntries(envOf(relayContainerOf(deployment))),
    // The Secret's required keys, and the mounted file where this test wrote it.
    HOLYSHEEP_API_KEY: 'sk-test-holysheep',
    RELAY_MASTER_KEY: 'sk-relay-test-master-key-0123456789',
    RELAY_CONFIG: file,
    RELAY_DATA_DIR: join(directory, 'data'),
  };
  return loadConfig({ environment, cwd: directory });
}
