// Checks that the tuned conversion kernels (bf16 widening, fp16 packing, transposes, q4 packing) give
// exactly the bytes of the plain per-element loops they replaced, on the inputs their fast paths treat specially:
// odd lengths, unaligned views, tail blocks, shapes that are not multiples of the tile, NaN, ±0, ±Infinity,
// subnormals and halfway cases. The plain loops are the benchmark's baseline (test/bench/convert-kernels-before.ts).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ByteSource } from '../../src/modelgen/convert/byte-source';
import { bfloat16ToFloat32 } from '../../src/modelgen/convert/float-bits';
import { openSafetensors } from '../../src/modelgen/convert/node-source';
import { SafetensorsFile } from '../../src/modelgen/convert/safetensors-reader';
import { writeTensorsSafetensors } from '../../src/modelgen/convert/safetensors-writer';
import { quantizeQ4, quantizeQ8Linear, quantizeU8 } from '../../src/modelgen/llava/quantize';
import { fillNormal } from '../../src/modelgen/llava/random-weights';
import { transposeBlocked } from '../../src/modelgen/llava/transpose';
import { float32ToHalf } from '../../src/shared/float16';
import {
  bfloat16ToFloat32Before,
  float32ToHalfBefore,
  quantizeQ4Before,
  transposeBlockedBefore,
} from '../bench/convert-kernels-before';
import { removeTempDirs, tempDir } from './convert-helpers';

afterAll(removeTempDirs);

function bytesOf(v: ArrayBufferView): number[] {
  return [...new Uint8Array(v.buffer, v.byteOffset, v.byteLength)];
}

/** Normal weights with the awkward values sprinkled in. */
function awkward(count: number, seed: number): Float32Array {
  const v = fillNormal(new Float32Array(count), seed, 0, 0.3);
  const specials = [
    NaN,
    -0,
    0,
    Infinity,
    -Infinity,
    1e-40,
    -1e-40,
    65504,
    65520,
    2 ** -24,
    2 ** -25,
    1 + 2 ** -11,
  ];
  for (let i = 0; i < count; i += 37) v[i] = specials[(i / 37) % specials.length]!;
  return v;
}

/** Every bit pattern a step of `stride` apart, plus the ones around each exponent boundary. */
function bitPatterns(stride: number): Float32Array {
  const bits: number[] = [];
  for (let x = 0; x < 2 ** 32; x += stride) bits.push(x);
  for (let e = 0; e < 256; e++)
    for (const m of [0, 1, 0xfff, 0x1000, 0x1001, 0x2000, 0x3000, 0x7fffff])
      for (const s of [0, 0x80000000]) bits.push((s | (e << 23) | m) >>> 0);
  return new Float32Array(Uint32Array.from(bits).buffer);
}

describe('tuned conversion kernels equal the plain loops byte for byte', () => {
  it('bf16 → f32 on odd lengths and on views that start 2 bytes into a word', () => {
    const words = new Uint16Array(1001);
    for (let i = 0; i < words.length; i++) words[i] = (i * 40503) & 0xffff;
    for (const view of [
      words,
      words.subarray(1),
      words.subarray(1, 8),
      words.subarray(2, 3),
      words.subarray(0, 0),
    ])
      expect(bytesOf(bfloat16ToFloat32(view))).toEqual(bytesOf(bfloat16ToFloat32Before(view)));
    const out = new Float32Array(20);
    bfloat16ToFloat32(words.subarray(0, 7), out.subarray(3));
    expect(bytesOf(out.subarray(3, 10))).toEqual(bytesOf(bfloat16ToFloat32Before(words.subarray(0, 7))));
  });

  it('f32 → fp16 on sampled bit patterns: normals, subnormals, overflow, halfway ties, NaN', () => {
    const values = bitPatterns(65521);
    expect(bytesOf(float32ToHalf(values))).toEqual(bytesOf(float32ToHalfBefore(values)));
    const plain = Array.from(values.subarray(0, 5000));
    expect(bytesOf(float32ToHalf(plain))).toEqual(bytesOf(float32ToHalfBefore(plain)));
  });

  it('transposes float and byte matrices of every awkward shape', () => {
    for (const [rows, cols] of [
      [1, 1],
      [3, 5],
      [8, 16],
      [33, 70],
      [64, 36],
      [100, 12],
      [12, 100],
      [257, 31],
    ] as Array<[number, number]>) {
      const f = awkward(rows * cols, rows * 131 + cols);
      for (const block of [4, 32, 64])
        expect(bytesOf(transposeBlocked(f, rows, cols, new Float32Array(rows * cols), block))).toEqual(
          bytesOf(transposeBlockedBefore(f, rows, cols, new Float32Array(rows * cols), block)),
        );
      const u = new Uint8Array(rows * cols + 3);
      for (let i = 0; i < u.length; i++) u[i] = (i * 97 + rows) & 0xff;
      for (const src of [u.subarray(0, rows * cols), u.subarray(1, 1 + rows * cols)])
        for (const block of [4, 30, 64]) {
          const out = new Uint8Array(rows * cols + 4).subarray(4);
          expect(bytesOf(transposeBlocked(src, rows, cols, out, block))).toEqual(
            bytesOf(transposeBlockedBefore(src, rows, cols, new Uint8Array(rows * cols), block)),
          );
        }
    }
  });

  it('q4 with full and tail blocks, all-zero and constant blocks, NaN and infinities', () => {
    for (const [n, k, blockSize] of [
      [5, 96, 32],
      [3, 100, 32],
      [4, 33, 16],
      [2, 7, 32],
      [6, 200, 64],
    ] as Array<[number, number, number]>) {
      // Specials only in the last row: a block holding an infinity or NaN degenerates (scale ∞ or NaN ignored).
      const w = fillNormal(new Float32Array(n * k), n * 7 + k, 0, 0.3);
      w.set(awkward(k, n).subarray(0, k), (n - 1) * k);
      w.fill(0, 0, Math.min(k, blockSize));
      if (n > 2) w.fill(0.25, k, k + Math.min(k, blockSize));
      const after = quantizeQ4({ dims: [n, k], data: w }, blockSize);
      const before = quantizeQ4Before(w, n, k, blockSize);
      expect(bytesOf(after.packed)).toEqual(bytesOf(before.packed));
      expect(bytesOf(after.scales)).toEqual(bytesOf(before.scales));
      expect(bytesOf(after.zeroPoints)).toEqual(bytesOf(before.zeroPoints));
    }
  });

  it('q8 codes transposed to [K, N]', () => {
    const w = fillNormal(new Float32Array(24 * 40), 5, 0, 0.2);
    const q = quantizeQ8Linear({ dims: [24, 40], data: w });
    const codes = quantizeU8(w).codes;
    expect(bytesOf(q.data)).toEqual(bytesOf(transposeBlockedBefore(codes, 24, 40, new Uint8Array(960), 64)));
  });
});

describe('tensor decoding from the bytes a source hands out', () => {
  /** A source whose reads are views `shift` bytes into a larger buffer (a chunk of a stream, say). */
  function shiftedSource(file: string, shift: number): ByteSource {
    const all = readFileSync(file);
    return {
      name: file,
      size: all.byteLength,
      read: (offset, length) => {
        const out = new Uint8Array(shift + length + 3).subarray(shift, shift + length);
        out.set(all.subarray(offset, offset + length));
        return out;
      },
      close: () => undefined,
    };
  }

  it('decodes F32, F16 and BF16 views at any byte offset exactly like fresh arrays', () => {
    const dir = tempDir('kernels-offsets');
    const a = { dims: [7], data: awkward(7, 3) };
    const b = { dims: [5, 9], data: fillNormal(new Float32Array(45), 4, 0, 0.5) };
    for (const dtype of ['F32', 'F16', 'BF16'] as const) {
      const file = path.join(dir, `${dtype}.safetensors`);
      writeTensorsSafetensors(
        file,
        [
          ['a', a],
          ['b', b],
        ],
        { dtype },
      );
      const fresh = openSafetensors(file);
      for (const shift of [1, 2, 3, 4, 6]) {
        const shifted = SafetensorsFile.open(shiftedSource(file, shift));
        for (const name of ['a', 'b'])
          expect(bytesOf(shifted.readFloat32(name).data), `${dtype} +${shift} ${name}`).toEqual(
            bytesOf(fresh.readFloat32(name).data),
          );
        shifted.close();
      }
      fresh.close();
    }
  });
});
