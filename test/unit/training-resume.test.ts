// Resumable training: a stage killed after a checkpoint continues from it to exactly the weights an uninterrupted
// run reaches; the weight files are sha256-checked; the fast tokenizer path equals the engine's.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { initTf } from '../../src/training/model/backend';
import { microConfig, dimsOf } from '../../src/training/model/config';
import { initParams, toWeightMap, type Params } from '../../src/training/model/params';
import { llavaLogits, maskedCrossEntropy } from '../../src/training/model/forward';
import { makeBatch } from '../../src/training/model/batches';
import { readTensorFile, writeTensorFile } from '../../src/training/model/tensor-file';
import { runStage, type LossFn } from '../../src/training/train/trainer';
import type { StageSpec } from '../../src/training/train/stages';
import { Rng } from '../../src/training/data/rng';
import {
  checkFastEncoder,
  configFor,
  engineTokenizer,
  fitTokenizer,
} from '../../src/training/model/tokenizer';

beforeAll(async () => {
  await initTf();
});

const config = microConfig(120, { bos: 1, eos: 2, image: 118, pad: 119 });
const d = dimsOf(config);
const spec: StageSpec = {
  name: 'language',
  title: 'test',
  train: ['language'],
  steps: 6,
  batch: 2,
  lr: 3e-3,
  warmup: 2,
};

function lossFor(params: Params, killAt = -1): LossFn {
  return (step) => {
    if (step === killAt) throw new Error('killed');
    const rng = new Rng(step + 1);
    const seqs = [0, 1].map(() => ({
      ids: Int32Array.from({ length: 10 }, () => 3 + rng.int(110)),
      answer: new Uint8Array(10).fill(1, 5),
      image: null,
      imageStart: -1,
    }));
    const batch = makeBatch(seqs, 119, 16, null);
    return {
      loss: () => maskedCrossEntropy(llavaLogits(params, d, batch), batch.targets, batch.mask, d.vocab),
      tokens: batch.tokens,
      dispose: () => tf.dispose([batch.ids, batch.targets, batch.mask]),
    };
  };
}

describe('resumable stages', () => {
  it('continues a killed stage from its checkpoint to the same weights', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'micro-resume-'));
    const quiet = () => undefined;
    const straight = initParams(config, 27, 3);
    runStage({
      spec,
      index: 1,
      total: 1,
      params: straight,
      lossAt: lossFor(straight),
      partialBase: path.join(dir, 'a'),
      checkpointEvery: 3,
      log: quiet,
    });

    const resumed = initParams(config, 27, 3);
    const base = path.join(dir, 'b');
    expect(() =>
      runStage({
        spec,
        index: 1,
        total: 1,
        params: resumed,
        lossAt: lossFor(resumed, 4),
        partialBase: base,
        checkpointEvery: 3,
        log: quiet,
      }),
    ).toThrow('killed');
    // A fresh process: new parameters, restored from the partial checkpoint at step 3.
    const fresh = initParams(config, 27, 99);
    const lines: string[] = [];
    const r = runStage({
      spec,
      index: 1,
      total: 1,
      params: fresh,
      lossAt: lossFor(fresh),
      partialBase: base,
      checkpointEvery: 3,
      log: (l) => lines.push(l),
    });
    expect(r.resumedFrom).toBe(3);
    expect(lines.some((l) => l.includes('resuming language at step 3/6'))).toBe(true);
    const a = toWeightMap(straight);
    const b = toWeightMap(fresh);
    for (const [name, t] of a) {
      const other = b.get(name)!.data;
      let maxDiff = 0;
      t.data.forEach((v, i) => (maxDiff = Math.max(maxDiff, Math.abs(v - other[i]!))));
      expect(maxDiff, name).toBeLessThan(1e-6);
    }
    [straight, resumed, fresh].forEach((p) => p.dispose());
  });

  it('refuses a weight file whose bytes do not match the recorded sha256', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'micro-file-'));
    const base = path.join(dir, 'w');
    writeTensorFile(base, new Map([['x', { dims: [2], data: Float32Array.from([1, 2]) }]]));
    expect(readTensorFile(base).weights.get('x')!.data).toEqual(Float32Array.from([1, 2]));
    writeFileSync(`${base}.bin`, new Uint8Array(Float32Array.from([1, 3]).buffer));
    expect(() => readTensorFile(base)).toThrow(/sha256/);
  });
});

describe('fast training tokenisation', () => {
  it('equals the engine tokenizer, odd spacing, newlines, unknown characters and special tokens included', () => {
    const corpus = ['The red circle is on the left.', 'USER: <image>\nWhat color? ASSISTANT: Red.</s>'];
    const tok = fitTokenizer(corpus);
    const et = engineTokenizer(tok, configFor(tok));
    const texts = [
      ...corpus,
      'The  red   circle',
      ' leading and trailing ',
      'line\nbreak and\ttab',
      'emoji 🙂 and ümlaut',
      '<image><image>\nx</s>USER: y',
      '',
    ];
    expect(() => checkFastEncoder(et, texts)).not.toThrow();
  });
});
