// Owns the picture files the UI tests drop and paste: small PNGs, a huge PNG, a damaged PNG, text named .png.
// Built in Node with zlib, row by row, so that the huge one never needs its raw pixels in memory at once.
import { crc32, deflateSync, createDeflate } from 'node:zlib';
import type { FileSpec } from './app-page';

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body) >>> 0);
  return Buffer.concat([len, body, crc]);
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function ihdr(width: number, height: number): Buffer {
  const h = Buffer.alloc(13);
  h.writeUInt32BE(width, 0);
  h.writeUInt32BE(height, 4);
  h[8] = 8; // bit depth
  h[9] = 2; // RGB
  return chunk('IHDR', h);
}

/** A small RGB PNG with a gradient and a block, so that it is not one flat colour. */
export function makePng(width: number, height: number, seed = 0): Buffer {
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    const row = y * (width * 3 + 1);
    for (let x = 0; x < width; x++) {
      const o = row + 1 + x * 3;
      const inBlock = x > width / 4 && x < width / 2 && y > height / 3 && y < (2 * height) / 3;
      raw[o] = inBlock ? 230 : (x * 255) / width;
      raw[o + 1] = inBlock ? 40 : (y * 255) / height;
      raw[o + 2] = (seed * 53 + 90) & 255;
    }
  }
  return Buffer.concat([
    SIGNATURE,
    ihdr(width, height),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A PNG of `width`×`height` pixels (e.g. 12000×12000), deflated row by row. */
export async function makeHugePng(width: number, height: number): Promise<Buffer> {
  const deflate = createDeflate({ level: 1 });
  const parts: Buffer[] = [];
  deflate.on('data', (d: Buffer) => parts.push(d));
  const done = new Promise<void>((resolve, reject) => {
    deflate.on('end', resolve);
    deflate.on('error', reject);
  });
  const row = Buffer.alloc(width * 3 + 1);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = 1 + x * 3;
      row[o] = (x >> 4) & 255;
      row[o + 1] = (y >> 4) & 255;
      row[o + 2] = ((x ^ y) >> 6) & 255;
    }
    if (!deflate.write(Buffer.from(row))) await new Promise((r) => deflate.once('drain', r));
  }
  deflate.end();
  await done;
  const idat = Buffer.concat(parts);
  // IDAT chunks are capped so that no single chunk is absurdly large.
  const idats: Buffer[] = [];
  for (let i = 0; i < idat.length; i += 1 << 24) idats.push(chunk('IDAT', idat.subarray(i, i + (1 << 24))));
  return Buffer.concat([SIGNATURE, ihdr(width, height), ...idats, chunk('IEND', Buffer.alloc(0))]);
}

/** A PNG whose header is right but whose pixel data is garbage (a damaged download). */
export function makeCorruptPng(): Buffer {
  const good = makePng(64, 64);
  const bad = Buffer.from(good);
  // Overwrite the middle of the IDAT payload; CRCs no longer match and the zlib stream is broken.
  for (let i = 60; i < bad.length - 20; i++) bad[i] = (i * 31) & 255;
  return bad;
}

export function spec(name: string, type: string, bytes: Buffer): FileSpec {
  return { name, type, base64: bytes.toString('base64') };
}
