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

/**
 * Fills `out` with normal(mean, std) values from a mulberry32 stream seeded with `seed` (Box–Muller, both outputs
 * used). Deterministic across platforms: only 32-bit integer ops and IEEE doubles.
 */
export function fillNormal(out: Float32Array, seed: number, mean = 0, std = 1): Float32Array {
  let state = seed >>> 0;
  const n = out.length;
  const twoPi = 2 * Math.PI;
  for (let i = 0; i < n; i += 2) {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    const u1 = (((t ^ (t >>> 14)) >>> 0) + 1) / 4294967297;
    state = (state + 0x6d2b79f5) | 0;
    t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    const u2 = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    const r = Math.sqrt(-2 * Math.log(u1)) * std;
    const theta = twoPi * u2;
    out[i] = mean + r * Math.cos(theta);
    if (i + 1 < n) out[i + 1] = mean + r * Math.sin(theta);
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
    const data = fillNormal(new Float32Array(count), (hash32(spec.name) ^ Math.imul(seed + 1, 0x9e3779b1)) >>> 0, mean, std);
    weights.set(spec.name, { dims: spec.dims, data });
  }
  return weights;
}
