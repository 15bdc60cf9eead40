#!/usr/bin/env node
// The published entry point: runs the bundled CLI (built by `npm ci` through the `prepare` script).
import { main } from '../dist/bundle/main.js';

main(process.argv.slice(2)).catch((error) => {
  process.stderr.write(`relay: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
