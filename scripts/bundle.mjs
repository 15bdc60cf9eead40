// Bundles the relay's server and CLI into a few ES modules under dist/bundle/ (`npm run build`).
// Loading ~450 separate modules (resolution, reads, compilation of each) was most of the time from
// start to ready; one bundle parses in a fraction of it. Code behind a dynamic import (the doctor,
// the Redis and Postgres backends) stays in its own chunk, loaded only when used. Packages with
// native code or large data stay outside and load from node_modules: better-sqlite3 (a native
// addon), pg and ioredis (loaded only when configured), js-tiktoken (megabytes of ranks, loaded
// only when a count is needed, in the token counter's thread: src/spec/token-count-worker.mjs, copied
// next to the chunks).
import { build } from 'esbuild';
import { copyFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist/bundle');
rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: [join(root, 'src/cli/main.ts')],
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20.19',
  entryNames: '[name]',
  chunkNames: 'chunk-[hash]',
  // `--no-minify` keeps names readable in CPU profiles.
  minify: !process.argv.includes('--no-minify'),
  // With NODE_OPTIONS=--enable-source-maps, stack traces name the source files and lines.
  sourcemap: 'linked',
  // Fastify's Ajv and fast-json-stringify compilers are never loaded (the relay gives Fastify its
  // own), so they stay out of the bundle: a quarter of a megabyte less to compile at start.
  external: ['better-sqlite3', 'pg', 'ioredis', 'js-tiktoken', '@fastify/ajv-compiler', '@fastify/fast-json-stringify-compiler'],
  // The CommonJS packages inside the bundle call `require` for Node's built-in modules.
  banner: { js: "import { createRequire as __relayCreateRequire } from 'node:module'; const require = __relayCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
// The token counter's thread runs a file of its own, found next to the code that starts it.
copyFileSync(join(root, 'src/spec/token-count-worker.mjs'), join(outdir, 'token-count-worker.mjs'));
