import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** The newest modification time of any file under `folder`. */
function newestChange(folder: string): number {
  let newest = 0;
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'dist') continue;
    const path = join(folder, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestChange(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * Builds the dashboard (`npm run build:web` into dist/web) unless a build newer than every file of
 * `web/` is there, so a browser test never runs against a stale or missing bundle.
 */
export function ensureDashboardBuilt(): void {
  const page = join(root, 'dist', 'web', 'index.html');
  if (existsSync(page) && statSync(page).mtimeMs >= newestChange(join(root, 'web'))) return;
  const build = spawnSync('npm', ['run', 'build:web'], { cwd: root, encoding: 'utf8', timeout: 180_000 });
  if (build.status !== 0) throw new Error(`npm run build:web failed:\n${build.stdout}\n${build.stderr}`);
}
