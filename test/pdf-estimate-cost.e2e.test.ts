import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import Anthropic from '@anthropic-ai/sdk';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockAnthropicUpstream } from './support/mock-anthropic-upstream.js';
import { freePort, spawnRelay, type SpawnedRelay } from './support/spawn-relay.js';

const master = 'sk-relay-pdf-estimate-master-0123456789';

/**
 * A PDF whose object streams (`/ObjStm`, the compressed kind PDF 1.5 brought) each inflate to ~16 MB
 * of blanks: `streams` of them, ~16 KB each once deflated. Sent as a document, it is a few MB.
 */
function inflatingPdf(streams: number): string {
  const stream = deflateSync(Buffer.alloc(16 * 1024 * 1024 - 64, 0x20), { level: 9 });
  const parts: Buffer[] = [Buffer.from('%PDF-1.7\n')];
  for (let index = 1; index <= streams; index++) {
    parts.push(Buffer.from(`${index} 0 obj\n<< /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode /Length ${stream.length} >>\nstream\n`), stream, Buffer.from('\nendstream\nendobj\n'));
  }
  parts.push(Buffer.from('trailer\n<< /Size 1 >>\n%%EOF\n'));
  return Buffer.concat(parts).toString('base64');
}

/** The relay's own CPU seconds so far, from its /metrics (prom-client's process_cpu_seconds_total). */
async function relayCpuSeconds(port: number): Promise<number> {
  const response = await request(`http://127.0.0.1:${port}/metrics`);
  const text = await response.body.text();
  const line = text.split('\n').find((entry) => entry.startsWith('process_cpu_seconds_total '));
  return Number(line?.split(' ')[1]);
}

/**
 * The relay counts a PDF document's pages to estimate its tokens (count_tokens, and a limited key's
 * admission), inflating the PDF's compressed object streams to find page objects in them. Each
 * stream is capped at 16 MB, but nothing bounds their number or the total: a document of a few MB
 * made of such streams has the relay inflate gigabytes, synchronously, on the one thread that
 * serves every other request and stream. The work done for a document must stay proportionate to
 * its size.
 */
describe('a PDF document whose compressed streams inflate to gigabytes', () => {
  const upstream = new MockAnthropicUpstream();
  let relay: SpawnedRelay;
  let port: number;

  beforeAll(async () => {
    await upstream.start();
    port = await freePort();
    const cwd = mkdtempSync(join(tmpdir(), 'relay-pdf-estimate-'));
    relay = spawnRelay(['serve', '--drain-delay-ms', '0'], {
      cwd,
      env: { PORT: String(port), HOST: '127.0.0.1', RELAY_MASTER_KEY: master, ANTHROPIC_API_KEY: 'sk-ant-upstream-pdf-0123456789', ANTHROPIC_BASE_URL: upstream.origin, LOG_LEVEL: 'info' },
    });
    await relay.waitForLog(/relay listening/);
  });
  afterAll(async () => {
    relay.child.kill('SIGTERM');
    await relay.exited;
    await upstream.stop();
  });

  it('is estimated by count_tokens at a cost in proportion to its size, not to what it inflates to', { timeout: 120_000 }, async () => {
    // ~13 MB of base64: 600 streams of ~16 KB, ~10 GB once inflated.
    const data = inflatingPdf(600);
    const anthropic = new Anthropic({ apiKey: master, baseURL: `http://127.0.0.1:${port}`, maxRetries: 0, timeout: 110_000 });
    const before = await relayCpuSeconds(port);
    const counted = await anthropic.messages.countTokens({
      model: 'claude-sonnet-4',
      messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'base64', media_type: 'application/pdf', data } }, { type: 'text', text: 'Summarise it.' }] }],
    });
    const spent = (await relayCpuSeconds(port)) - before;
    expect(counted.input_tokens).toBeGreaterThan(0);
    // Reading a 13 MB body and a PDF of that size takes the relay about a tenth of a second; inflating 10 GB takes it many seconds.
    expect(spent).toBeLessThan(1);
  });
});
