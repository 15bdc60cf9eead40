import { deflateSync } from 'node:zlib';
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pdfFile } from './support/media-files.js';
import { MockAnthropicUpstream } from './support/mock-anthropic-upstream.js';
import { masterKey, startRelay, type StartedRelay } from './support/start-relay.js';

/**
 * A PDF whose object streams (`/ObjStm`, the compressed kind PDF 1.5 brought) each inflate to ~16 MB
 * of blanks: `streams` of them, ~16 KB each once deflated. Sent as a document, it is a few MB.
 */
function inflatingPdf(streams: number): Buffer {
  const stream = deflateSync(Buffer.alloc(16 * 1024 * 1024 - 64, 0x20), { level: 9 });
  const parts: Buffer[] = [Buffer.from('%PDF-1.7\n')];
  for (let index = 1; index <= streams; index++) {
    parts.push(Buffer.from(`${index} 0 obj\n<< /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode /Length ${stream.length} >>\nstream\n`), stream, Buffer.from('\nendstream\nendobj\n'));
  }
  parts.push(Buffer.from('trailer\n<< /Size 1 >>\n%%EOF\n'));
  return Buffer.concat(parts);
}

/**
 * The pages docs/billing.md says a PDF counts once the object streams it may inflate are spent: those
 * found so far (none here), and one for every started 8 KB from the first stream left unread (its
 * data, after the `stream` keyword's line end) to the end of the file.
 */
function pagesOfTheUnreadRest(pdf: Buffer, firstUnreadStream: number): number {
  let at = -1;
  for (let index = 0; index < firstUnreadStream; index++) at = pdf.indexOf('/ObjStm', at + 1);
  const keyword = pdf.indexOf('stream', at) + 'stream'.length;
  const data = keyword + (pdf[keyword] === 0x0d ? 2 : 1);
  return Math.ceil((pdf.length - data) / 8192);
}

/** count_tokens' figure for a PDF page, and for one message's framing. */
const tokensPerPage = 2300;
const messageTokens = 3;

/**
 * The relay counts a PDF document's pages to estimate its tokens (count_tokens, and a limited key's
 * admission), inflating the PDF's compressed object streams to find page objects in them. That runs
 * on the one thread that serves every other request and stream, and a document of a few MB made of
 * such streams inflates to gigabytes: the streams of a document may inflate to 8 times its size, and
 * those of a request to 8 MB together; what could not be read within that counts by its size.
 */
describe('a PDF document whose compressed streams inflate to gigabytes', () => {
  const upstream = new MockAnthropicUpstream();
  let relay: StartedRelay;
  let anthropic: Anthropic;
  const count = async (...pdfs: Buffer[]) =>
    (
      await anthropic.messages.countTokens({
        model: 'claude-sonnet-4',
        messages: [{ role: 'user', content: pdfs.map((pdf) => ({ type: 'document' as const, source: { type: 'base64' as const, media_type: 'application/pdf' as const, data: pdf.toString('base64') } })) }],
      })
    ).input_tokens;

  beforeAll(async () => {
    await upstream.start();
    relay = await startRelay({ ANTHROPIC_API_KEY: 'sk-ant-upstream-pdf-0123456789', ANTHROPIC_BASE_URL: upstream.origin });
    anthropic = new Anthropic({ apiKey: masterKey, baseURL: relay.url, maxRetries: 0 });
  });
  afterAll(async () => {
    await relay.close();
    await upstream.stop();
  });

  it('is counted by its size once what it may inflate is spent, not by inflating ~10 GB', { timeout: 60_000 }, async () => {
    // ~13 MB of base64: 600 streams of ~16 KB, ~10 GB once inflated. Its first stream alone inflates
    // to more than the request may (8 MB): the whole file from that stream on counts by its size.
    const pdf = inflatingPdf(600);
    expect(await count(pdf)).toBe(pagesOfTheUnreadRest(pdf, 1) * tokensPerPage + messageTokens);
    expect(upstream.requests).toHaveLength(0);
  });

  it('still counts the pages of a PDF whose object streams hold them, by its pages', async () => {
    expect(await count(pdfFile(12, true))).toBe(12 * tokensPerPage + messageTokens);
  });

  it('shares what a request may inflate among its documents: one after the spent budget counts by its size', { timeout: 60_000 }, async () => {
    // ~1.6 MB: it may inflate 8 times that, more than the request's 8 MB, all spent on its first stream.
    const crafted = inflatingPdf(100);
    const honest = pdfFile(12, true);
    // The honest document first: its pages are read. After the crafted one, nothing is left to inflate it with.
    expect(await count(honest, crafted)).toBe((12 + pagesOfTheUnreadRest(crafted, 1)) * tokensPerPage + messageTokens);
    expect(await count(crafted, honest)).toBe((pagesOfTheUnreadRest(crafted, 1) + pagesOfTheUnreadRest(honest, 1)) * tokensPerPage + messageTokens);
  });
});
