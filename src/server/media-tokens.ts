import { inflateSync } from 'node:zlib';

/**
 * Tokens admission holds for a second of audio in a prompt (an `input_audio` part): Gemini's
 * documented 32 a second, above what OpenAI's audio models count for their input. Vendors bill audio
 * by its length, not by its bytes: a minute of 16 kHz WAV sent as base64 (~2.6 MB) read as text
 * would be ~850 000 tokens, which no TPM limit holds.
 */
export const audioTokensPerSecond = 32;

/**
 * Tokens admission holds for a page of a PDF in a prompt (an Anthropic `document` block, an OpenAI
 * `file` part): Claude bills a page as its text and a picture of it, ~2 100–2 500 tokens for a page
 * of dense text, ~1 600 for a scanned one; Gemini ~560.
 */
export const pdfPageTokens = 3000;

/**
 * Bytes the compressed object streams of a request's PDFs may inflate to, together, while their
 * pages are counted (one PDF's at most that too): inflating is synchronous, on the thread that
 * serves every request, and a few MB of crafted streams inflate to gigabytes (~1 GB a CPU-second).
 * A PDF's object streams hold its objects' dictionaries, not its pages' contents, fonts or
 * pictures: a 1 000-page book's inflate to a few MB.
 */
const inflatedBytesPerRequest = 8 * 1024 * 1024;

/** What one PDF's object streams may inflate to, for each byte of the PDF (within `inflatedBytesPerRequest`). */
const inflatedBytesPerPdfByte = 8;

/**
 * The rest of a PDF whose object streams could not all be read within its budget (from the first
 * one left unread to its end) counts one page for every started 8 KB: erring high, as admission
 * should (a page of text is ~20–60 KB of a PDF, fonts included).
 */
const unreadBytesPerPage = 8 * 1024;

/** The most deflate expands a byte to: what a stream that failed midway may have cost to inflate. */
const deflateMostRatio = 1032;

/**
 * What the PDFs of one request may still inflate to while their pages are counted
 * (`inflatedBytesPerRequest`): one for each estimate of a request's prompt, shared by its documents.
 */
export class PdfInflateBudget {
  remaining = inflatedBytesPerRequest;
}

/**
 * Bytes a second of audio whose length cannot be read from its header: 16 kbit/s, below any
 * speech encoding a client sends (so its length, and the estimate, err long).
 */
const unknownAudioBytesPerSecond = 2000;

/**
 * The tokens an `input_audio` part's audio is estimated at, from its length: read from a WAV
 * header (its byte rate) or an MP3 frame header (its bit rate), else taken at 16 kbit/s.
 */
export function audioPromptTokens(base64: string, format: unknown): number {
  const bytes = decodedLength(base64);
  if (bytes === 0) return 0;
  const rate = (format === 'wav' ? wavBytesPerSecond(base64) : format === 'mp3' ? mp3BytesPerSecond(base64) : undefined) ?? unknownAudioBytesPerSecond;
  return Math.ceil((bytes / rate) * audioTokensPerSecond);
}

/**
 * The tokens a base64 PDF is estimated at, from its pages (`pdfPageTokens` each); undefined when the
 * data is no PDF whose pages can be counted (it is then estimated by its size, as any other part).
 */
export function pdfPromptTokens(base64: string, budget: PdfInflateBudget): number | undefined {
  const pages = pdfPageCount(base64, budget);
  return pages === undefined ? undefined : pages * pdfPageTokens;
}

/**
 * The pages of a base64 PDF, or undefined when the data is no PDF or its pages cannot be found;
 * counted within what the request's PDFs may still inflate (`budget`, which it spends).
 */
export function pdfPageCount(base64: string, budget: PdfInflateBudget): number | undefined {
  const pdf = Buffer.from(base64, 'base64');
  if (pdf.subarray(0, 1024).indexOf('%PDF-') === -1) return undefined;
  const pages = pdfPages(pdf, budget);
  return pages > 0 ? pages : undefined;
}

/** The data of a base64 data URL (`data:application/pdf;base64,…`) of the given media type, or undefined. */
export function dataUrlBase64(url: unknown, mediaType: string): string | undefined {
  if (typeof url !== 'string' || !url.startsWith(`data:${mediaType}`)) return undefined;
  const comma = url.indexOf(',');
  return comma !== -1 && url.slice(0, comma).endsWith(';base64') ? url.slice(comma + 1) : undefined;
}

/** The length of the data a base64 text holds, without decoding it. */
function decodedLength(base64: string): number {
  let padding = 0;
  while (padding < 2 && base64.charCodeAt(base64.length - 1 - padding) === 61 /* = */) padding++;
  return Math.floor((base64.length * 3) / 4) - padding;
}

/** Decodes `length` bytes of the data from byte `offset` on (only the base64 around them is read). */
function decodeSlice(base64: string, offset: number, length: number): Buffer {
  const first = Math.floor(offset / 3);
  const decoded = Buffer.from(base64.slice(first * 4, (first + Math.ceil(length / 3) + 1) * 4), 'base64');
  return decoded.subarray(offset - first * 3, offset - first * 3 + length);
}

/** A WAV file's byte rate, from its `fmt ` chunk (RIFF chunks before it are skipped). */
function wavBytesPerSecond(base64: string): number | undefined {
  const head = decodeSlice(base64, 0, 4096);
  if (head.length < 12 || head.toString('latin1', 0, 4) !== 'RIFF' || head.toString('latin1', 8, 12) !== 'WAVE') return undefined;
  for (let chunk = 12; chunk + 20 <= head.length; chunk += 8 + head.readUInt32LE(chunk + 4) + (head.readUInt32LE(chunk + 4) % 2)) {
    if (head.toString('latin1', chunk, chunk + 4) === 'fmt ') {
      const byteRate = head.readUInt32LE(chunk + 16);
      return byteRate > 0 ? byteRate : undefined;
    }
  }
  return undefined;
}

/** MPEG-1 and MPEG-2/2.5 Layer III bit rates in kbit/s, by the frame header's index. */
const mpeg1Layer3 = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320];
const mpeg2Layer3 = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160];

/** An MP3's byte rate, from its first frame's header (after an ID3v2 tag, if any). */
function mp3BytesPerSecond(base64: string): number | undefined {
  let offset = 0;
  const tag = decodeSlice(base64, 0, 10);
  if (tag.length === 10 && tag.toString('latin1', 0, 3) === 'ID3') {
    // The tag's size is a "syncsafe" integer: 7 bits a byte; a footer adds 10 bytes.
    offset = 10 + ((tag[6]! & 0x7f) << 21) + ((tag[7]! & 0x7f) << 14) + ((tag[8]! & 0x7f) << 7) + (tag[9]! & 0x7f) + (tag[5]! & 0x10 ? 10 : 0);
  }
  const frames = decodeSlice(base64, offset, 4096);
  for (let at = 0; at + 3 < frames.length; at++) {
    if (frames[at] !== 0xff || (frames[at + 1]! & 0xe0) !== 0xe0) continue;
    const version = (frames[at + 1]! >> 3) & 3;
    const layer = (frames[at + 1]! >> 1) & 3;
    const kbits = layer === 1 && version !== 1 ? (version === 3 ? mpeg1Layer3 : mpeg2Layer3)[frames[at + 2]! >> 4] : undefined;
    if (kbits !== undefined && kbits > 0) return kbits * 125;
  }
  return undefined;
}

/**
 * A PDF's pages: its page objects (`/Type /Page`), read from the file and, when it keeps its
 * objects in compressed object streams (PDF 1.5 and later), from those streams. They are inflated
 * within `inflatedBytesPerPdfByte` times the PDF's size and what the request may still inflate
 * (`budget`); once that is spent, the rest of the PDF, from the first stream left unread, counts a
 * page a started `unreadBytesPerPage`.
 */
function pdfPages(pdf: Buffer, budget: PdfInflateBudget): number {
  const pages = pageObjects(pdf);
  if (pages > 0) return pages;
  let allowed = Math.min(budget.remaining, pdf.length * inflatedBytesPerPdfByte);
  const spend = (bytes: number) => {
    allowed -= bytes;
    budget.remaining -= bytes;
  };
  let inStreams = 0;
  for (let at = pdf.indexOf('/ObjStm'); at !== -1; at = pdf.indexOf('/ObjStm', at + 7)) {
    const keyword = pdf.indexOf('stream', at);
    if (keyword === -1) break;
    const start = keyword + 6 + (pdf[keyword + 6] === 0x0d ? 2 : 1);
    const end = pdf.indexOf('endstream', start);
    if (end === -1) break;
    const compressed = pdf.subarray(start, end);
    at = end;
    // A stream of another filter: nothing to inflate, nothing spent.
    if (!startsZlibStream(compressed)) continue;
    const unread = inStreams + Math.ceil((pdf.length - start) / unreadBytesPerPage);
    if (allowed <= 0) return unread;
    try {
      const inflated = inflateSync(compressed, { maxOutputLength: allowed });
      spend(inflated.length);
      inStreams += pageObjects(inflated);
    } catch (error) {
      if ((error as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') {
        spend(allowed);
        return unread;
      }
      // A stream cut short or corrupt: its pages are not counted, what it may have inflated is.
      spend(Math.min(allowed, compressed.length * deflateMostRatio));
    }
  }
  return inStreams;
}

/** Whether bytes begin with a zlib header (deflate, a valid check), as a `/FlateDecode` stream does. */
function startsZlibStream(bytes: Buffer): boolean {
  return bytes.length >= 2 && (bytes[0]! & 0x0f) === 8 && ((bytes[0]! << 8) | bytes[1]!) % 31 === 0;
}

/** The `/Type /Page` entries in some PDF bytes (`/Pages`, the page tree's nodes, excluded). */
function pageObjects(bytes: Buffer): number {
  let count = 0;
  for (let at = bytes.indexOf('/Type'); at !== -1; at = bytes.indexOf('/Type', at + 5)) {
    let name = at + 5;
    while (name < bytes.length && isPdfWhitespace(bytes[name]!)) name++;
    if (bytes.toString('latin1', name, name + 5) === '/Page' && !isNameCharacter(bytes[name + 5])) count++;
  }
  return count;
}

function isPdfWhitespace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09 || byte === 0x0c || byte === 0x00;
}

/** Whether a byte continues a PDF name (`/Pages` after `/Page`); undefined (the end) does not. */
function isNameCharacter(byte: number | undefined): boolean {
  if (byte === undefined) return false;
  return !isPdfWhitespace(byte) && !'/<>[]()%{}'.includes(String.fromCharCode(byte));
}
