// The kernel cases of the conversion-kernels benchmark, runtime-agnostic so that Node (convert-kernels.ts) and a
// Chromium page (convert-kernels-page.ts) time the same code: each case runs the shipped kernel and the one it
// replaced on the tensors a conversion feeds it, checks their outputs byte for byte, and times both sides.
import { bfloat16ToFloat32 } from '../../src/modelgen/convert/float-bits';
import { quantizeQ4, quantizeU8 } from '../../src/modelgen/llava/quantize';
import { transposeBlocked } from '../../src/modelgen/llava/transpose';
import { float32ToHalf } from '../../src/shared/float16';
import {
  bfloat16ToFloat32Before,
  float32ToHalfBefore,
  quantizeQ4Before,
  transposeBlockedBefore,
} from './convert-kernels-before';

/** One source tensor: its bf16 bits and their float32 widening (what the kernels after the reader see). */
export interface KernelTensor {
  name: string;
  dims: number[];
  bits: Uint16Array;
  f32: Float32Array<ArrayBuffer>;
}

export interface KernelCase {
  key: string;
  label: string;
  /** Which tensors the converter feeds this kernel (default options of the quant named in the label). */
  tensors: KernelTensor[];
  before: (t: KernelTensor) => ArrayBufferView[];
  after: (t: KernelTensor) => ArrayBufferView[];
}

export function kernelCases(
  vision: KernelTensor[],
  decoder: KernelTensor[],
  embed: KernelTensor[],
): KernelCase[] {
  const every = [...vision, ...decoder, ...embed];
  const dims2 = (t: KernelTensor) => t.dims as [number, number];
  return [
    {
      key: 'widen-reused',
      label: 'bf16 → f32 widening (every tensor; into a reused buffer)',
      tensors: every,
      before: (t) => [bfloat16ToFloat32Before(t.bits, t.f32)],
      after: (t) => [bfloat16ToFloat32(t.bits, t.f32)],
    },
    {
      key: 'widen-fresh',
      label: 'bf16 → f32 widening (every tensor; fresh output, as the reader allocates)',
      tensors: every,
      before: (t) => [bfloat16ToFloat32Before(t.bits)],
      after: (t) => [bfloat16ToFloat32(t.bits)],
    },
    {
      key: 'q4',
      label: 'q4 MatMulNBits packing (decoder Linears + lm_head)',
      tensors: decoder,
      before: (t) => {
        const q = quantizeQ4Before(t.f32, t.dims[0]!, t.dims[1]!, 32);
        return [q.packed, q.scales, q.zeroPoints];
      },
      after: (t) => {
        const q = quantizeQ4({ dims: t.dims, data: t.f32 }, 32);
        return [q.packed, q.scales, q.zeroPoints];
      },
    },
    {
      key: 'q8',
      label: 'q8 codes + transpose (decoder Linears + lm_head, --quant q8)',
      tensors: decoder,
      before: (t) => {
        const [n, k] = dims2(t);
        return [transposeBlockedBefore(quantizeU8(t.f32).codes, n, k, new Uint8Array(n * k), 64)];
      },
      after: (t) => {
        const [n, k] = dims2(t);
        return [transposeBlocked(quantizeU8(t.f32).codes, n, k, new Uint8Array(n * k), 64)];
      },
    },
    {
      key: 'transpose',
      label: 'f32 transpose (vision + projector Linears, fp32 tower)',
      tensors: vision,
      before: (t) => {
        const [r, c] = dims2(t);
        return [transposeBlockedBefore(t.f32, r, c, new Float32Array(r * c), 32)];
      },
      after: (t) => {
        const [r, c] = dims2(t);
        return [transposeBlocked(t.f32, r, c, new Float32Array(r * c), 32)];
      },
    },
    {
      key: 'fp16',
      label: 'f32 → fp16 packing (vision Linears, --vision-quant fp16)',
      tensors: vision,
      before: (t) => [float32ToHalfBefore(t.f32)],
      after: (t) => [float32ToHalf(t.f32)],
    },
    {
      key: 'noise',
      label: 'q8 codes alone (same code both sides: the noise floor)',
      tensors: embed.length > 0 ? embed : decoder,
      before: (t) => [quantizeU8(t.f32).codes],
      after: (t) => [quantizeU8(t.f32).codes],
    },
  ];
}

function sameBytes(a: ArrayBufferView, b: ArrayBufferView): boolean {
  if (a.byteLength !== b.byteLength) return false;
  const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/**
 * Best of `reps` passes over every tensor per side, in source (bf16) MB/s; the sides alternate pass by pass, so
 * that a burst of load from elsewhere on a shared machine hits both.
 */
function time(c: KernelCase, reps: number): { before: number; after: number } {
  const bytes = c.tensors.reduce((n, t) => n + t.bits.byteLength, 0);
  const best = { before: Infinity, after: Infinity };
  for (let r = 0; r < reps; r++) {
    for (const side of r % 2 === 0 ? (['before', 'after'] as const) : (['after', 'before'] as const)) {
      const started = performance.now();
      for (const t of c.tensors) c[side](t);
      best[side] = Math.min(best[side], performance.now() - started);
    }
  }
  return { before: bytes / 1e6 / (best.before / 1000), after: bytes / 1e6 / (best.after / 1000) };
}

/** Source MB/s of each side of a case. */
export type KernelRates = Map<string, { before: number; after: number }>;

/** Checks and times every case; logs one line each; returns each case's rates. */
export function runKernels(cases: KernelCase[], reps: number, log: (line: string) => void): KernelRates {
  const rates: KernelRates = new Map();
  for (const c of cases) {
    if (c.tensors.length === 0) continue;
    for (const t of c.tensors) {
      const a = c.before(t);
      const b = c.after(t);
      a.forEach((x, i) => {
        if (!sameBytes(x, b[i]!))
          throw new Error(`${c.label} on ${t.name}: the tuned kernel's bytes differ from the baseline's`);
      });
    }
    const { before, after } = time(c, reps);
    const mb = c.tensors.reduce((n, t) => n + t.bits.byteLength, 0) / 1e6;
    rates.set(c.key, { before, after });
    log(
      `${c.label.padEnd(78)} ${mb.toFixed(0).padStart(5)} MB  before ${before.toFixed(0).padStart(5)}  ` +
        `after ${after.toFixed(0).padStart(5)} MB/s  (${(after / before).toFixed(2)}×, outputs identical)`,
    );
  }
  return rates;
}

/** MB of source each case covers. */
export function sourceShares(cases: KernelCase[]): Map<string, number> {
  return new Map(cases.map((c) => [c.key, c.tensors.reduce((n, t) => n + t.bits.byteLength, 0) / 1e6]));
}

/**
 * One core's ceiling for a whole checkpoint: the kernels a conversion runs on it (widening every tensor into fresh
 * memory, then the per-dtype work), each at its measured rate over its share of the checkpoint (`shares`, MB);
 * nothing else (no reads, writes, hashing or graph encoding).
 */
export function ceilings(rates: KernelRates, shares: Map<string, number>, sourceMb: number): string[] {
  return (
    [
      ['q4', ['widen-fresh', 'q4', 'transpose']],
      ['q8', ['widen-fresh', 'q8', 'transpose']],
    ] as const
  ).map(([quant, keys]) => {
    const seconds = (side: 'before' | 'after') =>
      keys.reduce((n, k) => n + (shares.get(k) ?? 0) / (rates.get(k)?.[side] ?? Infinity), 0);
    const before = seconds('before');
    const after = seconds('after');
    return (
      `kernels of a --quant ${quant} conversion, one core: before ${(sourceMb / before).toFixed(0)} MB/s, ` +
      `after ${(sourceMb / after).toFixed(0)} MB/s of source (${((after / sourceMb) * 1000).toFixed(2)} ms per MB; ` +
      `cores of this kind for 80 MB/s of kernels alone: ${((80 * after) / sourceMb).toFixed(2)})`
    );
  });
}
