// Owns the optimiser: AdamW with global-norm gradient clipping and a warmup + cosine learning-rate schedule, with
// its state exposed for checkpoints. No model or data knowledge.

import * as tf from '@tensorflow/tfjs-core';

export interface AdamWOptions {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  clipNorm: number;
}

export const DEFAULT_ADAMW: AdamWOptions = {
  beta1: 0.9,
  beta2: 0.98,
  eps: 1e-8,
  weightDecay: 0.0,
  clipNorm: 1.0,
};

/** Learning rate at `step` of `total`: linear warmup, then cosine decay to `floor` × peak. */
export function scheduledLr(peak: number, step: number, total: number, warmup: number, floor = 0.1): number {
  if (step < warmup) return (peak * (step + 1)) / warmup;
  const progress = Math.min(1, (step - warmup) / Math.max(1, total - warmup));
  return peak * (floor + (1 - floor) * 0.5 * (1 + Math.cos(Math.PI * progress)));
}

export class AdamW {
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();
  step = 0;

  constructor(private readonly options: AdamWOptions = DEFAULT_ADAMW) {}

  /** Applies one update; returns the gradients' global norm before clipping. */
  apply(vars: ReadonlyMap<string, tf.Variable>, grads: Record<string, tf.Tensor>, lr: number): number {
    const { beta1, beta2, eps, weightDecay, clipNorm } = this.options;
    this.step++;
    const names = Object.keys(grads);
    const norm = tf.tidy(() =>
      Math.sqrt(tf.addN(names.map((n) => tf.sum(tf.square(grads[n]!)))).dataSync()[0]!),
    );
    const scale = norm > clipNorm ? clipNorm / norm : 1;
    const bc1 = 1 - Math.pow(beta1, this.step);
    const bc2 = 1 - Math.pow(beta2, this.step);
    tf.tidy(() => {
      for (const name of names) {
        const p = vars.get(name)!;
        const g = tf.mul(grads[name]!, scale);
        const m = this.slot(this.m, name, p);
        const v = this.slot(this.v, name, p);
        m.assign(tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1)));
        v.assign(tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2)));
        const update = tf.div(tf.div(m, bc1), tf.add(tf.sqrt(tf.div(v, bc2)), eps));
        // Decoupled weight decay on matrices only (norms, biases and embeddings' scale stay free).
        const decay = weightDecay > 0 && p.rank >= 2 ? tf.mul(p, weightDecay) : null;
        p.assign(tf.sub(p, tf.mul(decay ? tf.add(update, decay) : update, lr)));
      }
    });
    return norm;
  }

  private slot(store: Map<string, tf.Variable>, name: string, like: tf.Tensor): tf.Variable {
    let s = store.get(name);
    if (!s) {
      s = tf.variable(tf.zerosLike(like), false);
      store.set(name, s);
    }
    return s;
  }

  /** Moments as plain arrays, for a checkpoint. */
  state(): { step: number; m: Record<string, Float32Array>; v: Record<string, Float32Array> } {
    const grab = (s: Map<string, tf.Variable>) =>
      Object.fromEntries(
        [...s.entries()].map(([k, t]) => [k, Float32Array.from(t.dataSync() as Float32Array)]),
      );
    return { step: this.step, m: grab(this.m), v: grab(this.v) };
  }

  restore(
    state: { step: number; m: Record<string, Float32Array>; v: Record<string, Float32Array> },
    vars: ReadonlyMap<string, tf.Variable>,
  ): void {
    this.step = state.step;
    for (const [store, src] of [
      [this.m, state.m],
      [this.v, state.v],
    ] as const) {
      for (const [k, data] of Object.entries(src)) {
        const like = vars.get(k);
        if (!like) continue;
        store.get(k)?.dispose();
        store.set(k, tf.variable(tf.tensor(data, like.shape), false));
      }
    }
  }

  dispose(): void {
    for (const s of [...this.m.values(), ...this.v.values()]) s.dispose();
    this.m.clear();
    this.v.clear();
  }
}
