import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { mp3File, pdfFile, wavFile } from '../../test/support/media-files.js';
import { audioPromptTokens, dataUrlBase64, PdfInflateBudget, pdfPromptTokens } from './media-tokens.js';

describe('audio in a prompt', () => {
  it('estimates a WAV by its length, read from its header: 32 tokens a second', () => {
    expect(audioPromptTokens(wavFile(60).toString('base64'), 'wav')).toBe(1921);
    // Four times the bytes a second: the same minute.
    expect(audioPromptTokens(wavFile(60, 64_000).toString('base64'), 'wav')).toBe(1921);
  });

  it('estimates an MP3 by its bit rate, after an ID3 tag of any size', () => {
    const minute = (tokens: number) => {
      expect(tokens).toBeGreaterThanOrEqual(1920);
      expect(tokens).toBeLessThan(1925);
    };
    minute(audioPromptTokens(mp3File(60, 128).toString('base64'), 'mp3'));
    minute(audioPromptTokens(mp3File(60, 64).toString('base64'), 'mp3'));
    // A 300 KB cover picture before the first frame: its bytes count as audio, the rate is the frame's.
    expect(audioPromptTokens(mp3File(60, 128, 300_000).toString('base64'), 'mp3')).toBe(audioPromptTokens(mp3File(60, 128).toString('base64'), 'mp3') + 600);
  });

  it('takes audio whose header it cannot read at 16 kbit/s, erring long', () => {
    expect(audioPromptTokens(Buffer.alloc(120_000, 7).toString('base64'), 'wav')).toBe(1920);
    expect(audioPromptTokens(Buffer.alloc(120_000, 7).toString('base64'), 'flac')).toBe(1920);
    expect(audioPromptTokens('', 'mp3')).toBe(0);
  });
});

describe('PDFs in a prompt', () => {
  it('estimates a PDF by its pages, 3000 tokens each', () => {
    expect(pdfPromptTokens(pdfFile(3).toString('base64'), new PdfInflateBudget())).toBe(9000);
    expect(pdfPromptTokens(pdfFile(1).toString('base64'), new PdfInflateBudget())).toBe(3000);
  });

  it('counts the pages of a PDF that keeps its objects in compressed object streams', () => {
    expect(pdfPromptTokens(pdfFile(12, true).toString('base64'), new PdfInflateBudget())).toBe(36_000);
  });

  it('counts what a stream cut short may have inflated against the budget: deflate expands a byte to 1032 at most', () => {
    // The first 512 bytes of a deflated 16 MB of blanks: ~500 KB inflate before it fails.
    const cut = deflateSync(Buffer.alloc(16 * 1024 * 1024, 0x20)).subarray(0, 512);
    // 1 MB of other objects (fonts, pictures) after it: the PDF may inflate 8 MB.
    const pdf = Buffer.concat([Buffer.from('%PDF-1.7\n1 0 obj\n<< /Type /ObjStm /Filter /FlateDecode >>\nstream\n'), cut, Buffer.from('\nendstream\nendobj\n'), Buffer.alloc(1024 * 1024, 0x20), Buffer.from('%%EOF\n')]);
    const budget = new PdfInflateBudget();
    const before = budget.remaining;
    expect(pdfPromptTokens(pdf.toString('base64'), budget)).toBeUndefined();
    // Its 512 bytes and the line end before `endstream`.
    expect(before - budget.remaining).toBe(513 * 1032);
  });

  it('shares one budget among the PDFs of a request: once spent, a PDF with object streams counts by its size', () => {
    const budget = new PdfInflateBudget();
    budget.remaining = 0;
    const pdf = pdfFile(12, true);
    const unread = pdf.length - (pdf.indexOf('stream\r\n', pdf.indexOf('/ObjStm')) + 8);
    expect(pdfPromptTokens(pdf.toString('base64'), budget)).toBe(Math.ceil(unread / 8192) * 3000);
    // A PDF whose pages are in the file itself needs no inflating.
    expect(pdfPromptTokens(pdfFile(3).toString('base64'), budget)).toBe(9000);
  });

  it('leaves data that is no PDF, or a PDF whose pages it cannot find, to the estimate by size', () => {
    expect(pdfPromptTokens(Buffer.from('not a pdf at all').toString('base64'), new PdfInflateBudget())).toBeUndefined();
    expect(pdfPromptTokens(Buffer.from('%PDF-1.7\n%%EOF\n').toString('base64'), new PdfInflateBudget())).toBeUndefined();
  });

  it('reads the base64 of a data URL of the given type only', () => {
    expect(dataUrlBase64('data:application/pdf;base64,JVBERi0=', 'application/pdf')).toBe('JVBERi0=');
    expect(dataUrlBase64('data:text/plain;base64,aGk=', 'application/pdf')).toBeUndefined();
    expect(dataUrlBase64('data:application/pdf,%25PDF', 'application/pdf')).toBeUndefined();
    expect(dataUrlBase64(42, 'application/pdf')).toBeUndefined();
  });
});
