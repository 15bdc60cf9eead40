import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { Tiktoken } from 'js-tiktoken/lite';
import cl100k from 'js-tiktoken/ranks/cl100k_base';
import { describe, expect, it, vi } from 'vitest';
import { countEach, countTally } from './token-counter.js';

const encoder = new Tiktoken(cl100k);

describe('the token counter', () => {
  it('counts each text as cl100k_base does, special-token text as plain text', async () => {
    const texts = ['Hello, world!', 'The relay counts tokens when no upstream reports them.', '你好，世界 🙂', '', `${'word '.repeat(500)}<|endoftext|>`];
    expect(await countEach(texts)).toEqual(texts.map((text) => encoder.encode(text, [], []).length));
    expect(await countTally({ texts: ['Hello, world!', 'Hello, world!'], tokens: 10 })).toBe(10 + 2 * encoder.encode('Hello, world!').length);
  });

  it('counts long runs of one kind of character without handing them to the encoder whole', async () => {
    // The encoder would take minutes over each of these (its merges are quadratic in a piece's length).
    const [letters, base64, equals, mixed, short] = await countEach([
      'A'.repeat(100_000),
      `data:image/png;base64,iVBORw0KGgo${'A'.repeat(600_000)}==`,
      '='.repeat(10_000),
      `Look: ${'a'.repeat(65)} done`,
      'b'.repeat(64),
    ]);
    expect(letters).toBe(Math.ceil((100_000 * 2) / 3));
    expect(base64).toBeGreaterThan(400_000);
    expect(equals).toBe(Math.ceil((10_000 * 2) / 3));
    // Text around a long run is counted as usual; a run of 64 is still the encoder's.
    expect(mixed).toBe(encoder.encode('Look: ').length + Math.ceil((65 * 2) / 3) + encoder.encode(' done').length);
    expect(short).toBe(encoder.encode('b'.repeat(64)).length);
  });

  it('answers counts asked for at once, each with its own', async () => {
    const texts = Array.from({ length: 20 }, (_, index) => 'token '.repeat(index + 1));
    const counts = await Promise.all(texts.map((text) => countEach([text])));
    expect(counts).toEqual(texts.map((text) => [encoder.encode(text).length]));
  });

  it('counts with a new thread when asked just as the idle one ends', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      expect(await countEach(['first'])).toEqual([1]);
      // Five idle minutes: the thread is told to end, and a count is asked for at that very moment.
      vi.advanceTimersByTime(5 * 60_000);
      expect(await countEach(['second count'])).toEqual([encoder.encode('second count').length]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('keeps a process alive while a count is under way, and lets it end once none is', async () => {
    // A script with nothing else to wait for (as a relay whose server has closed, its last request's
    // count still to come), built next to the project's node_modules with the thread's file beside it.
    const project = fileURLToPath(new URL('../..', import.meta.url));
    mkdirSync(join(project, 'test-results'), { recursive: true });
    const directory = mkdtempSync(join(project, 'test-results', 'token-counter-'));
    try {
      await build({
        stdin: { contents: "import { countEach } from './src/spec/token-counter.ts'; countEach(['hello world']).then((counts) => console.log(JSON.stringify(counts)));", resolveDir: project, loader: 'ts' },
        bundle: true,
        format: 'esm',
        platform: 'node',
        outfile: join(directory, 'count.mjs'),
        external: ['js-tiktoken'],
        logLevel: 'silent',
      });
      copyFileSync(join(project, 'src/spec/token-count-worker.mjs'), join(directory, 'token-count-worker.mjs'));
      const { stdout } = await promisify(execFile)(process.execPath, [join(directory, 'count.mjs')], { timeout: 30_000 });
      expect(stdout.trim()).toBe(JSON.stringify([encoder.encode('hello world').length]));
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
