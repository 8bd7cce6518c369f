// The converter's safetensors I/O: our writer's files read back bit-exactly (F32) and as correctly rounded halves
// (F16/BF16, round-to-nearest-even checked on edge values), tensors are read by byte range, and damaged files
// (truncated, headers that lie about offsets, unknown dtypes) are refused with the right error code.
import { readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openCheckpoint, openSafetensors } from '../../src/modelgen/convert/node-source';
import { isConvertError } from '../../src/modelgen/convert/errors';
import { bfloat16ToFloat32, float32ToBfloat16 } from '../../src/modelgen/convert/float-bits';
import { float32ToHalf, float32ToHalfBits, halfToFloat32 } from '../../src/shared/float16';
import {
  safetensorsHeader,
  writeSafetensors,
  writeTensorsSafetensors,
} from '../../src/modelgen/convert/safetensors-writer';
import { removeTempDirs, tempDir } from './convert-helpers';

function values(count: number, seed: number): Float32Array {
  const out = new Float32Array(count);
  let s = seed;
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = ((s / 2 ** 32) * 2 - 1) * 10 ** ((i % 9) - 4);
  }
  return out;
}

function expectCode(fn: () => unknown, code: string): void {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(isConvertError(caught), String(caught)).toBe(true);
  expect((caught as { code: string }).code).toBe(code);
}

/** Writes a file whose header is `header` (any JSON) followed by `dataBytes` zero bytes. */
function rawFile(file: string, header: unknown, dataBytes: number): void {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.byteLength + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.byteLength), true);
  out.set(json, 8);
  writeFileSync(file, out);
}

describe('16-bit float conversions', () => {
  it('rounds float32 to bfloat16 to nearest even and widens back exactly', () => {
    // 1 + 2^-8 is exactly halfway between two bf16 values (1 and 1 + 2^-7): ties go to the even mantissa (1).
    const x = Float32Array.of(1 + 2 ** -8, 1 + 3 * 2 ** -8, -2.5, 0, -0, Infinity, 3.4e38, 1e-40);
    const back = bfloat16ToFloat32(float32ToBfloat16(x));
    expect(Array.from(back.subarray(0, 4))).toEqual([1, 1 + 2 ** -6, -2.5, 0]);
    expect(Object.is(back[4], -0)).toBe(true);
    expect(back[5]).toBe(Infinity);
    expect(Number.isNaN(bfloat16ToFloat32(float32ToBfloat16(Float32Array.of(NaN)))[0])).toBe(true);
    const v = values(4096, 3);
    const r = bfloat16ToFloat32(float32ToBfloat16(v));
    for (let i = 0; i < v.length; i++)
      expect(Math.abs(r[i]! - v[i]!)).toBeLessThanOrEqual(Math.abs(v[i]!) * 2 ** -8);
  });

  it('rounds float32 to IEEE half to nearest even, subnormals and overflow included', () => {
    expect(float32ToHalfBits(1)).toBe(0x3c00);
    expect(float32ToHalfBits(65504)).toBe(0x7bff);
    expect(float32ToHalfBits(65520)).toBe(0x7c00); // rounds up past the largest half: infinity, as numpy
    expect(float32ToHalfBits(2 ** -24)).toBe(0x0001); // smallest subnormal
    expect(float32ToHalfBits(2 ** -25)).toBe(0x0000); // halfway to zero: ties to even
    expect(float32ToHalfBits(1 + 2 ** -11)).toBe(0x3c00); // halfway between 1 and 1 + 2^-10: even
    expect(float32ToHalfBits(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(float32ToHalfBits(-2)).toBe(0xc000);
    const v = values(4096, 5);
    const r = halfToFloat32(float32ToHalf(v));
    for (let i = 0; i < v.length; i++) {
      const ulp = Math.max(2 ** -24, 2 ** (Math.floor(Math.log2(Math.abs(v[i]!) || 1)) - 10));
      expect(Math.abs(r[i]! - v[i]!)).toBeLessThanOrEqual(ulp / 2 + 1e-12);
    }
  });
});

describe('safetensors files', () => {
  const dir = tempDir('st');

  it('writes and reads back F32 exactly and F16/BF16 as rounded, by tensor, with an 8-byte aligned header', () => {
    const a = { dims: [3, 5], data: values(15, 1) };
    const b = { dims: [7], data: values(7, 2) };
    for (const dtype of ['F32', 'F16', 'BF16'] as const) {
      const file = path.join(dir, `ab-${dtype}.safetensors`);
      const size = writeTensorsSafetensors(
        file,
        [
          ['a', a],
          ['layer.b', b],
        ],
        { dtype, metadata: { format: 'pt' } },
      );
      expect(statSync(file).size).toBe(size);
      const bytes = readFileSync(file);
      expect((8 + Number(bytes.readBigUInt64LE(0))) % 8).toBe(0);
      const f = openSafetensors(file);
      expect(f.metadata).toEqual({ format: 'pt' });
      expect(f.entries.get('a')?.dtype).toBe(dtype);
      const round = (x: Float32Array): Float32Array =>
        dtype === 'F32'
          ? x
          : dtype === 'F16'
            ? halfToFloat32(float32ToHalf(x))
            : bfloat16ToFloat32(float32ToBfloat16(x));
      expect(f.readFloat32('layer.b')).toEqual({ dims: [7], data: round(b.data) });
      expect(f.readFloat32('a')).toEqual({ dims: [3, 5], data: round(a.data) });
      f.close();
    }
  });

  it('streams tensors from a fill callback and reads F64 too', () => {
    const file = path.join(dir, 'fill.safetensors');
    const seen: string[] = [];
    writeSafetensors(
      file,
      [
        { name: 'x', dims: [2, 2] },
        { name: 'y', dims: [3] },
      ],
      (s) => {
        seen.push(s.name);
        return new Float32Array(s.dims.reduce((p, q) => p * q, 1)).fill(seen.length);
      },
    );
    expect(seen).toEqual(['x', 'y']);
    const f = openSafetensors(file);
    expect(Array.from(f.readFloat32('y').data)).toEqual([2, 2, 2]);
    f.close();
    const f64 = path.join(dir, 'f64.safetensors');
    const head = JSON.stringify({ z: { dtype: 'F64', shape: [2], data_offsets: [0, 16] } });
    const buf = Buffer.alloc(8 + head.length + 16);
    buf.writeBigUInt64LE(BigInt(head.length), 0);
    buf.write(head, 8);
    buf.writeDoubleLE(0.1, 8 + head.length);
    buf.writeDoubleLE(-3, 16 + head.length);
    writeFileSync(f64, buf);
    const g = openSafetensors(f64);
    expect(Array.from(g.readFloat32('z').data)).toEqual([Math.fround(0.1), -3]);
    g.close();
  });

  it('calls a file cut short "truncated", in the header or in the data', () => {
    const file = path.join(dir, 'cut.safetensors');
    writeTensorsSafetensors(file, [['w', { dims: [64, 64], data: values(4096, 9) }]]);
    const full = statSync(file).size;
    truncateSync(file, full - 100);
    expectCode(() => openSafetensors(file), 'truncated');
    truncateSync(file, 20);
    expectCode(() => openSafetensors(file), 'truncated');
    truncateSync(file, 5);
    expectCode(() => openSafetensors(file), 'truncated');
  });

  it('refuses headers that lie about offsets: wrong byte count, overlap, gap, trailing bytes, bad JSON', () => {
    const file = path.join(dir, 'lie.safetensors');
    rawFile(file, { w: { dtype: 'F32', shape: [4], data_offsets: [0, 12] } }, 12);
    expectCode(() => openSafetensors(file), 'bad-header');
    rawFile(
      file,
      {
        a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] },
        b: { dtype: 'F32', shape: [4], data_offsets: [8, 24] },
      },
      24,
    );
    expectCode(() => openSafetensors(file), 'bad-header');
    rawFile(file, { a: { dtype: 'F32', shape: [2], data_offsets: [8, 16] } }, 16);
    expectCode(() => openSafetensors(file), 'bad-header');
    rawFile(file, { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, 12);
    expectCode(() => openSafetensors(file), 'bad-header');
    rawFile(file, { a: { dtype: 'Q4', shape: [2], data_offsets: [0, 8] } }, 8);
    expectCode(() => openSafetensors(file), 'bad-header');
    writeFileSync(file, Buffer.concat([Buffer.from([5, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{oops')]));
    expectCode(() => openSafetensors(file), 'bad-header');
    const huge = Buffer.alloc(16);
    huge.writeBigUInt64LE(2n ** 40n, 0);
    writeFileSync(file, huge);
    expectCode(() => openSafetensors(file), 'bad-header');
  });

  it('reads only what it is asked for and refuses integer tensors with a clear code', () => {
    const file = path.join(dir, 'int.safetensors');
    rawFile(file, { ids: { dtype: 'I64', shape: [2], data_offsets: [0, 16] } }, 16);
    const f = openSafetensors(file);
    expectCode(() => f.readFloat32('ids'), 'unsupported-dtype');
    expectCode(() => f.readFloat32('nope'), 'missing-tensor');
    f.close();
    expect(safetensorsHeader([{ name: 'x', dims: [1] }], 'F32').byteLength % 8).toBe(0);
  });

  it('opens sharded checkpoints through model.safetensors.index.json and checks the index against the files', () => {
    const ck = tempDir('shards');
    writeTensorsSafetensors(path.join(ck, 'a.safetensors'), [
      ['x', { dims: [2], data: Float32Array.of(1, 2) }],
    ]);
    writeTensorsSafetensors(path.join(ck, 'b.safetensors'), [['y', { dims: [1], data: Float32Array.of(3) }]]);
    const index = (map: Record<string, string>): void =>
      writeFileSync(path.join(ck, 'model.safetensors.index.json'), JSON.stringify({ weight_map: map }));
    index({ x: 'a.safetensors', y: 'b.safetensors' });
    const c = openCheckpoint(ck);
    expect(c.names().sort()).toEqual(['x', 'y']);
    expect(c.fileOf('y')).toBe('b.safetensors');
    const y = new Float32Array(1);
    const widener = c.widener('y', y);
    widener.push(c.fileList[1]!.file.readBytes('y'));
    widener.finish();
    expect(Array.from(y)).toEqual([3]);
    c.close();
    index({ x: 'a.safetensors', y: 'a.safetensors' });
    expectCode(() => openCheckpoint(ck), 'missing-tensor');
    index({ x: 'a.safetensors', y: 'c.safetensors' });
    expectCode(() => openCheckpoint(ck), 'missing-file');
  });
});

afterAll(removeTempDirs);
