import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sha256Hex } from './load-config.js';
import type { RelayConfig } from './relay-config.js';

/**
 * A relay must never run open. When no client key is configured at all (no RELAY_MASTER_KEY, no
 * config keys), the first run generates a master key into `<data dir>/master.key` (mode 0600) and
 * uses it; later runs read the same file. The key is never printed, only where to find it.
 */
export function ensureFirstRunKey(config: RelayConfig): RelayConfig {
  if (config.masterKeySha256 !== undefined || config.clientKeys.length > 0) return config;
  const file = join(config.dataDir, 'master.key');
  let key: string;
  if (existsSync(file)) {
    key = readFileSync(file, 'utf8').trim();
  } else {
    mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
    key = `sk-relay-${randomBytes(24).toString('hex')}`;
    writeFileSync(file, `${key}\n`, { mode: 0o600 });
  }
  return { ...config, masterKeySha256: sha256Hex(key), generatedMasterKeyFile: file };
}
