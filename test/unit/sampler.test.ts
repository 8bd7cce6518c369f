// Sampler: greedy, HF-style repetition penalty, top-k / top-p filtering, temperature and seeded reproducibility.
import { describe, expect, it } from 'vitest';
import {
  Sampler,
  applyRepetitionPenalty,
  argmax,
  candidateDistribution,
  createRng,
  samplerSettings,
} from '../../src/engine/sampler';

const settings = (o: Parameters<typeof samplerSettings>[0]) => samplerSettings({ seed: 7, ...o });

describe('sampler', () => {
  it('greedy picks the largest logit, the first one on ties', () => {
    expect(argmax(Float32Array.from([0.1, 2, -1, 2]))).toBe(1);
    const s = new Sampler(settings({}));
    expect(s.greedy).toBe(true);
    expect(s.next(Float32Array.from([0, 0.5, 3, 1]), [])).toBe(2);
  });

  it('applies the repetition penalty like HF: divide positive, multiply negative, once per id', () => {
    const logits = Float32Array.from([2, -2, 1, 4]);
    applyRepetitionPenalty(logits, [0, 1, 1, 1], 2);
    expect(Array.from(logits)).toEqual([1, -4, 1, 4]);
    // A penalty can flip the greedy choice.
    const s = new Sampler(settings({ repetitionPenalty: 3 }));
    expect(s.next(Float32Array.from([3, 2.5, 0]), [0])).toBe(1);
  });

  it('top-k keeps the k most likely tokens (ties with the k-th included)', () => {
    const { ids } = candidateDistribution(Float32Array.from([1, 5, 3, 3, 0]), {
      temperature: 1,
      topK: 2,
      topP: 1,
    });
    expect(ids).toEqual([1, 2, 3]);
  });

  it('top-p keeps the smallest head whose tail mass is above 1 - p, never less than one token', () => {
    // Probabilities 0.5, 0.3, 0.2 (logits are their logs).
    const logits = Float32Array.from([Math.log(0.2), Math.log(0.5), Math.log(0.3)]);
    expect(candidateDistribution(logits, { temperature: 1, topK: 0, topP: 0.75 }).ids).toEqual([1, 2]);
    expect(candidateDistribution(logits, { temperature: 1, topK: 0, topP: 0.85 }).ids).toEqual([1, 2, 0]);
    expect(candidateDistribution(logits, { temperature: 1, topK: 0, topP: 0.01 }).ids).toEqual([1]);
    const { probs } = candidateDistribution(logits, { temperature: 1, topK: 0, topP: 0.75 });
    expect(probs[0]).toBeCloseTo(0.5 / 0.8, 6);
  });

  it('temperature sharpens or flattens the distribution', () => {
    const logits = Float32Array.from([1, 2]);
    const hot = candidateDistribution(logits, { temperature: 2, topK: 0, topP: 1 }).probs[0] as number;
    const cold = candidateDistribution(logits, { temperature: 0.5, topK: 0, topP: 1 }).probs[0] as number;
    expect(hot).toBeCloseTo(1 / (1 + Math.exp(-0.5)), 6);
    expect(cold).toBeCloseTo(1 / (1 + Math.exp(-2)), 6);
  });

  it('sampling follows the distribution and a seed reproduces the same draws', () => {
    const logits = Float32Array.from([Math.log(0.1), Math.log(0.6), Math.log(0.3)]);
    const draw = (seed: number) => {
      const s = new Sampler(samplerSettings({ temperature: 1, seed }));
      return Array.from({ length: 3000 }, () => s.next(logits.slice(), []));
    };
    const a = draw(42);
    expect(draw(42)).toEqual(a);
    expect(draw(43)).not.toEqual(a);
    const freq = [0, 1, 2].map((id) => a.filter((x) => x === id).length / a.length);
    expect(freq[0]).toBeCloseTo(0.1, 1);
    expect(freq[1]).toBeCloseTo(0.6, 1);
    expect(freq[2]).toBeCloseTo(0.3, 1);
  });

  it('leaves out only tokens with negligible probability (so a large vocabulary is not fully sorted)', () => {
    const logits = new Float32Array(150_000).fill(-100);
    logits[3] = 5;
    logits[9] = 4;
    logits[11] = -30; // e^-35 below the best: still a candidate
    const { ids, probs } = candidateDistribution(logits, { temperature: 1, topK: 0, topP: 1 });
    expect(ids).toEqual([3, 9, 11]);
    expect(probs[0]).toBeCloseTo(1 / (1 + Math.exp(-1)), 6);
    const s = new Sampler(samplerSettings({ temperature: 0.8, topP: 0.9, seed: 3 }));
    for (let i = 0; i < 20; i++) expect([3, 9]).toContain(s.next(logits.slice(), []));
  });

  it('the PRNG is uniform in [0, 1)', () => {
    const rng = createRng(1);
    const xs = Array.from({ length: 10000 }, rng);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    expect(xs.reduce((a, b) => a + b, 0) / xs.length).toBeCloseTo(0.5, 1);
  });

  it('fills defaults: greedy, no filters, no penalty', () => {
    const s = samplerSettings({ seed: 1 });
    expect(s).toEqual({ temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1, seed: 1 });
    expect(samplerSettings({ temperature: 0.7, topP: 1.5, topK: -3 })).toMatchObject({
      temperature: 0.7,
      topP: 1,
      topK: 0,
    });
  });
});
