import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { brotliCompressSync, constants as zlibConstants, gzipSync } from 'node:zlib';

/** One built file of the dashboard, held in memory with its compressed forms. */
export interface DashboardFile {
  body: Buffer;
  brotli: Buffer | undefined;
  gzip: Buffer | undefined;
  contentType: string;
  etag: string;
  /** Vite names these by content hash: they never change, so browsers may keep them for a year. */
  immutable: boolean;
}

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
};

const compressible = new Set(['.html', '.js', '.mjs', '.css', '.json', '.map', '.svg', '.txt', '.webmanifest']);

/**
 * Reads the built dashboard (`vite build`'s output) into memory, keyed by its path relative to
 * `directory` with `/` separators. Serving only what this map holds is what makes path traversal
 * impossible: a request names a key, never a path on disk. Only regular files are read (symbolic
 * links are skipped). `undefined` when the dashboard was not built.
 */
export function loadDashboardFiles(directory: string): Map<string, DashboardFile> | undefined {
  if (!existsSync(join(directory, 'index.html'))) return undefined;
  const files = new Map<string, DashboardFile>();
  const walk = (folder: string, prefix: string) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const relative = `${prefix}${entry.name}`;
      if (entry.isDirectory()) walk(join(folder, entry.name), `${relative}/`);
      else if (entry.isFile()) files.set(relative, describeFile(readFileSync(join(folder, entry.name)), relative));
    }
  };
  walk(directory, '');
  return files;
}

function describeFile(body: Buffer, relative: string): DashboardFile {
  const extension = extname(relative).toLowerCase();
  // Small files gain nothing from compression but a header.
  const compress = compressible.has(extension) && body.length > 1024;
  return {
    body,
    brotli: compress ? brotliCompressSync(body, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 11, [zlibConstants.BROTLI_PARAM_SIZE_HINT]: body.length } }) : undefined,
    gzip: compress ? gzipSync(body, { level: 9 }) : undefined,
    contentType: contentTypes[extension] ?? 'application/octet-stream',
    etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
    immutable: relative.startsWith('assets/'),
  };
}
