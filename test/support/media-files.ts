import { deflateSync } from 'node:zlib';

/** A WAV file of `seconds` of silence: 16-bit mono PCM at `sampleRate` (a RIFF header, a LIST chunk before `fmt `, then `data`). */
export function wavFile(seconds: number, sampleRate = 16_000): Buffer {
  const byteRate = sampleRate * 2;
  const data = Buffer.alloc(seconds * byteRate);
  const list = Buffer.concat([Buffer.from('LIST'), u32(4), Buffer.from('INFO')]);
  const fmt = Buffer.concat([Buffer.from('fmt '), u32(16), u16(1), u16(1), u32(sampleRate), u32(byteRate), u16(2), u16(16)]);
  const body = Buffer.concat([Buffer.from('WAVE'), list, fmt, Buffer.from('data'), u32(data.length), data]);
  return Buffer.concat([Buffer.from('RIFF'), u32(body.length), body]);
}

/** An MP3 of `seconds` at `kbits` kbit/s (MPEG-1 Layer III), after an ID3v2 tag of `tagBytes` (as cover art makes it). */
export function mp3File(seconds: number, kbits: 128 | 64, tagBytes = 0): Buffer {
  const index = { 128: 9, 64: 5 }[kbits];
  const frameBytes = Math.floor((144 * kbits * 1000) / 44_100);
  const frame = Buffer.alloc(frameBytes);
  frame.set([0xff, 0xfb, (index << 4) | 0x00, 0xc4]);
  const frames = Buffer.concat(Array.from({ length: Math.ceil((seconds * kbits * 125) / frameBytes) }, () => frame));
  if (tagBytes === 0) return frames;
  const size = [(tagBytes >> 21) & 0x7f, (tagBytes >> 14) & 0x7f, (tagBytes >> 7) & 0x7f, tagBytes & 0x7f];
  return Buffer.concat([Buffer.from('ID3'), Buffer.from([4, 0, 0, ...size]), Buffer.alloc(tagBytes, 0x11), frames]);
}

/**
 * A PDF of `pages` pages, written as a PDF 1.4 writer does (each object in the file), or as PDF 1.5
 * writers such as Word do (`compressed`: the page objects inside a deflated object stream).
 */
export function pdfFile(pages: number, compressed = false): Buffer {
  const kids = Array.from({ length: pages }, (_, page) => `${page + 3} 0 R`).join(' ');
  const pageObjects = Array.from({ length: pages }, () => '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 99 0 R >>');
  const head = `%PDF-${compressed ? '1.5' : '1.4'}\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n`;
  if (!compressed) {
    const objects = pageObjects.map((object, page) => `${page + 3} 0 obj\n${object}\nendobj\n`).join('');
    return Buffer.from(`${head}2 0 obj\n<< /Type /Pages /Kids [${kids}] /Count ${pages} >>\nendobj\n${objects}trailer\n<< /Root 1 0 R >>\n%%EOF\n`, 'latin1');
  }
  const stream = deflateSync(Buffer.from([`<< /Type/Pages /Kids [${kids}] /Count ${pages} >>`, ...pageObjects.map((object) => object.replaceAll(' /', '/'))].join('\n'), 'latin1'));
  return Buffer.concat([
    Buffer.from(`${head}5 0 obj\n<< /Type /ObjStm /N ${pages + 1} /First 20 /Filter /FlateDecode /Length ${stream.length} >>\nstream\r\n`, 'latin1'),
    stream,
    Buffer.from('\r\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n', 'latin1'),
  ]);
}

function u32(value: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32LE(value);
  return bytes;
}

function u16(value: number): Buffer {
  const bytes = Buffer.alloc(2);
  bytes.writeUInt16LE(value);
  return bytes;
}
