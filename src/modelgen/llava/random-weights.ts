// Owns seeded, deterministic random LLaVA weights for test and demo models. Each tensor draws from its own stream
// (seed mixed with a hash of its name), so a tensor's values do not depend on which other tensors exist.
import type { LlavaHfConfig, WeightMap } from './types';
import { listWeights, type WeightRole, type WeightSpec } from './weight-spec';

/** FNV-1a hash of a string, 32-bit. */
function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** erfc(x) for x ≥ 0 (Chebyshev fit, relative error < 1.2e-7: ample for a sampling table). */
function erfc(x: number): number {
  const t = 1 / (1 + 0.5 * x);
  const poly =
    -1.26551223 +
    t *
      (1.00002368 +
        t *
          (0.37409196 +
            t *
              (0.09678418 +
                t *
                  (-0.18628806 +
                    t *
                      (0.27886807 +
                        t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  return t * Math.exp(-x * x + poly);
}

const TABLE_BITS = 16;
let normalTable: Float32Array | undefined;

/** Standard-normal quantiles at (i + 0.5) / 2^16, found by bisection on the CDF; built once. */
function quantileTable(): Float32Array {
  if (normalTable !== undefined) return normalTable;
  const size = 1 << TABLE_BITS;
  const table = new Float32Array(size);
  for (let i = size / 2; i < size; i++) {
    const upperTail = 1 - (i + 0.5) / size; // P(Z > z) = erfc(z / √2) / 2
    let lo = 0;
    let hi = 8;
    for (let k = 0; k < 48; k++) {
      const mid = (lo + hi) / 2;
      if (erfc(mid * Math.SQRT1_2) / 2 > upperTail) lo = mid;
      else hi = mid;
    }
    table[i] = (lo + hi) / 2;
    table[size - 1 - i] = -(lo + hi) / 2;
  }
  normalTable = table;
  return table;
}

/**
 * Fills `out` with normal(mean, std) values from a mulberry32 stream seeded with `seed`: each 32-bit draw gives two
 * 16-bit uniforms, mapped through a table of normal quantiles (tails cut at ±4.3σ). Table lookup instead of
 * Box–Muller keeps a 350 M-parameter model at about a second. Deterministic: 32-bit integer ops only per value.
 */
export function fillNormal(out: Float32Array, seed: number, mean = 0, std = 1): Float32Array {
  const table = quantileTable();
  let state = seed >>> 0;
  const n = out.length;
  for (let i = 0; i < n; i += 2) {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    t = (t ^ (t >>> 14)) >>> 0;
    out[i] = mean + std * (table[t & 0xffff] as number);
    if (i + 1 < n) out[i + 1] = mean + std * (table[t >>> 16] as number);
  }
  return out;
}

/** Mean and standard deviation per role, chosen so activations stay O(1) and logits have a spread of ~2. */
function distribution(spec: WeightSpec): [mean: number, std: number] {
  const fanIn = spec.dims.slice(1).reduce((a, b) => a * b, 1);
  const roles: Record<WeightRole, [number, number]> = {
    linear: [0, 1 / Math.sqrt(fanIn)],
    conv: [0, 1 / Math.sqrt(fanIn)],
    bias: [0, 0.05],
    'norm-weight': [1, 0.1],
    'norm-bias': [0, 0.05],
    embedding: [0, 1],
    position: [0, 0.5],
    class: [0, 1],
    'lm-head': [0, 2 / Math.sqrt(fanIn)],
  };
  return roles[spec.role];
}

/**
 * Creates every tensor of a llava-hf checkpoint for `config` (see {@link listWeights}) with seeded random values.
 * The same (config, seed) always gives bit-identical weights.
 */
export function createRandomWeights(config: LlavaHfConfig, seed = 0): WeightMap {
  const weights: WeightMap = new Map();
  for (const spec of listWeights(config)) {
    const count = spec.dims.reduce((a, b) => a * b, 1);
    const [mean, std] = distribution(spec);
    const data = fillNormal(
      new Float32Array(count),
      (hash32(spec.name) ^ Math.imul(seed + 1, 0x9e3779b1)) >>> 0,
      mean,
      std,
    );
    weights.set(spec.name, { dims: spec.dims, data });
  }
  return weights;
}
