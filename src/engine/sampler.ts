// Owns choosing the next token from logits: repetition penalty, greedy, temperature, top-k, top-p (HF semantics),
// with a seeded PRNG. Pure over typed arrays; no ONNX, no I/O.

/** Sampling settings after defaults are applied; temperature 0 means greedy. */
export interface SamplerSettings {
  temperature: number;
  topK: number;
  topP: number;
  repetitionPenalty: number;
  seed: number;
}

/** A uniform [0, 1) generator. */
export type Rng = () => number;

/** mulberry32: small, fast and good enough for sampling; the same seed gives the same tokens everywhere. */
export function createRng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * HF RepetitionPenaltyLogitsProcessor: for every id already in the sequence, a positive logit is divided by the
 * penalty and a negative one multiplied by it. Works in place.
 */
export function applyRepetitionPenalty(
  logits: Float32Array,
  seenIds: Iterable<number>,
  penalty: number,
): void {
  if (penalty === 1) return;
  const done = new Set<number>();
  for (const id of seenIds) {
    if (done.has(id) || id < 0 || id >= logits.length) continue;
    done.add(id);
    const v = logits[id] as number;
    logits[id] = v < 0 ? v * penalty : v / penalty;
  }
}

/** Index of the largest logit; ties go to the lowest index, as torch.argmax does. */
export function argmax(logits: ArrayLike<number>): number {
  let best = 0;
  let bestV = -Infinity;
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i] as number;
    if (v > bestV) {
      bestV = v;
      best = i;
    }
  }
  return best;
}

/**
 * Scaled logits this far below the best one (a probability ratio of e^-40) are left out before sorting: with a
 * 150k vocabulary they carry under 1e-12 of the mass in all, and skipping them keeps sampling far from a full sort.
 */
const NEGLIGIBLE = 40;

/**
 * Candidate ids and their probabilities after temperature, top-k and top-p, in descending probability order.
 * Follows HF's warpers: TopK keeps every logit >= the k-th largest; TopP removes the tokens whose cumulative
 * probability in ascending order is <= 1 - top_p, always keeping the most likely one.
 */
export function candidateDistribution(
  logits: Float32Array,
  s: Pick<SamplerSettings, 'temperature' | 'topK' | 'topP'>,
): { ids: number[]; probs: number[] } {
  const t = s.temperature;
  let best = -Infinity;
  for (let i = 0; i < logits.length; i++) best = Math.max(best, logits[i] as number);
  const floor = best - NEGLIGIBLE * t;
  const order: number[] = [];
  for (let i = 0; i < logits.length; i++) if ((logits[i] as number) >= floor) order.push(i);
  order.sort((a, b) => (logits[b] as number) - (logits[a] as number) || a - b);
  const n = order.length;
  let keep = n;
  if (s.topK > 0 && s.topK < n) {
    const kth = logits[order[s.topK - 1] as number] as number;
    keep = s.topK;
    while (keep < n && (logits[order[keep] as number] as number) >= kth) keep++;
  }
  const ids = order.slice(0, keep);
  let probs = ids.map((id) => Math.exp(((logits[id] as number) - best) / t));
  let sum = probs.reduce((a, b) => a + b, 0);
  probs = probs.map((p) => p / sum);
  if (s.topP < 1) {
    // Ascending cumulative sum from the least likely candidate, as HF computes it.
    let cum = 0;
    let cut = ids.length;
    for (let i = ids.length - 1; i > 0; i--) {
      cum += probs[i] as number;
      if (cum <= 1 - s.topP) cut = i;
      else break;
    }
    ids.length = cut;
    probs = probs.slice(0, cut);
    sum = probs.reduce((a, b) => a + b, 0);
    probs = probs.map((p) => p / sum);
  }
  return { ids, probs };
}

/** Draws an id from a distribution given in any order. */
export function drawFrom(ids: readonly number[], probs: readonly number[], rng: Rng): number {
  let r = rng();
  for (let i = 0; i < ids.length; i++) {
    r -= probs[i] as number;
    if (r < 0) return ids[i] as number;
  }
  return ids[ids.length - 1] as number;
}

/** A stateful sampler for one generation: keeps its PRNG so a seed reproduces the whole answer. */
export class Sampler {
  private readonly rng: Rng;

  constructor(readonly settings: SamplerSettings) {
    this.rng = createRng(settings.seed);
  }

  get greedy(): boolean {
    return this.settings.temperature <= 0;
  }

  /** Picks the next token. `logits` is modified in place (repetition penalty). */
  next(logits: Float32Array, seenIds: Iterable<number>): number {
    applyRepetitionPenalty(logits, seenIds, this.settings.repetitionPenalty);
    if (this.greedy) return argmax(logits);
    const { ids, probs } = candidateDistribution(logits, this.settings);
    return drawFrom(ids, probs, this.rng);
  }
}

/** Fills in defaults: greedy, no top-k/top-p, no penalty, a random seed when none is given. */
export function samplerSettings(o: {
  temperature?: number;
  topK?: number;
  topP?: number;
  repetitionPenalty?: number;
  seed?: number;
}): SamplerSettings {
  return {
    temperature: o.temperature !== undefined && o.temperature > 0 ? o.temperature : 0,
    topK: o.topK !== undefined && o.topK > 0 ? Math.floor(o.topK) : 0,
    topP: o.topP !== undefined && o.topP > 0 && o.topP < 1 ? o.topP : 1,
    repetitionPenalty: o.repetitionPenalty !== undefined && o.repetitionPenalty > 0 ? o.repetitionPenalty : 1,
    seed: o.seed ?? Math.floor(Math.random() * 2 ** 32),
  };
}
