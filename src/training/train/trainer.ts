// Owns running one training stage: the seeded step loop, loss and learning rate, progress lines, and resumable
// mid-stage checkpoints (weights + optimiser moments). What each stage trains on is handed in as a step function.

import { existsSync, rmSync } from 'node:fs';
import { AdamW, scheduledLr } from '../model/optimizer';
import { loadInto, toWeightMap, type Params } from '../model/params';
import { readTensorFile, writeTensorFile } from '../model/tensor-file';
import type { StageSpec } from './stages';
import type { WeightMap } from '../../modelgen/llava/types';
import { trainStep, type LossFn } from './step';

export type { LossFn } from './step';

export interface StageRunOptions {
  spec: StageSpec;
  index: number;
  total: number;
  params: Params;
  lossAt: LossFn;
  /** Base path of this stage's partial checkpoint (`<base>.bin/json` + `<base>-opt.*`). */
  partialBase: string;
  checkpointEvery: number;
  log: (line: string) => void;
  logEvery?: number;
}

export interface StageResult {
  seconds: number;
  finalLoss: number;
  steps: number;
  resumedFrom: number;
}

function clock(s: number): string {
  const m = Math.floor(s / 60);
  return `${m}:${String(Math.floor(s % 60)).padStart(2, '0')}`;
}

function stateToWeights(state: ReturnType<AdamW['state']>): WeightMap {
  const out: WeightMap = new Map();
  for (const [k, v] of Object.entries(state.m)) out.set(`m/${k}`, { dims: [v.length], data: v });
  for (const [k, v] of Object.entries(state.v)) out.set(`v/${k}`, { dims: [v.length], data: v });
  return out;
}

function weightsToState(w: WeightMap, step: number): ReturnType<AdamW['state']> {
  const m: Record<string, Float32Array> = {};
  const v: Record<string, Float32Array> = {};
  for (const [k, t] of w) (k.startsWith('m/') ? m : v)[k.slice(2)] = t.data;
  return { step, m, v };
}

/** Runs (or resumes) one stage. Checkpoints every `checkpointEvery` steps; the caller saves the finished stage. */
export function runStage(o: StageRunOptions): StageResult {
  const { spec, params } = o;
  const names = params.namesIn(spec.train);
  const vars = params.vars;
  const trainable = names.map((n) => params.get(n));
  const opt = new AdamW();
  let start = 0;
  let secondsBefore = 0;
  if (existsSync(`${o.partialBase}.json`)) {
    const { weights, index } = readTensorFile(o.partialBase);
    loadInto(params, weights);
    start = Number(index.meta.step ?? 0);
    secondsBefore = Number(index.meta.seconds ?? 0);
    opt.restore(weightsToState(readTensorFile(`${o.partialBase}-opt`).weights, start), vars);
    o.log(`  resuming ${spec.name} at step ${start}/${spec.steps}`);
  }
  const t0 = performance.now();
  let ema = NaN;
  let tokens = 0;
  const logEvery = o.logEvery ?? 25;
  let lastLog = performance.now();
  let lastStep = start;
  let lastTokens = 0;
  for (let step = start; step < spec.steps; step++) {
    const lr = scheduledLr(spec.lr, step, spec.steps, spec.warmup);
    const item = o.lossAt(step);
    const loss = trainStep(params, trainable, opt, item, lr);
    tokens += item.tokens;
    ema = Number.isNaN(ema) ? loss : 0.95 * ema + 0.05 * loss;
    const done = step + 1;
    if (done % logEvery === 0 || done === spec.steps) {
      const now = performance.now();
      const elapsed = secondsBefore + (now - t0) / 1000;
      const perStep = (now - lastLog) / 1000 / (done - lastStep);
      const eta = perStep * (spec.steps - done);
      const rate = (tokens - lastTokens) / ((now - lastLog) / 1000);
      o.log(
        `  [${o.index}/${o.total} ${spec.name}] step ${done}/${spec.steps}  loss ${ema.toFixed(4)}  lr ${lr.toExponential(1)}  ` +
          `${perStep.toFixed(2)} s/step  ${rate.toFixed(0)} ${spec.name === 'vision' ? 'images' : 'target tokens'}/s  ` +
          `elapsed ${clock(elapsed)}  eta ${clock(eta)}`,
      );
      lastLog = now;
      lastStep = done;
      lastTokens = tokens;
    }
    if (done % o.checkpointEvery === 0 && done < spec.steps) {
      const seconds = secondsBefore + (performance.now() - t0) / 1000;
      writeTensorFile(`${o.partialBase}-opt`, stateToWeights(opt.state()), { step: done });
      writeTensorFile(o.partialBase, toWeightMap(params, true), { step: done, seconds });
    }
    if (!Number.isFinite(loss)) throw new Error(`${spec.name}: loss became ${loss} at step ${done}`);
  }
  opt.dispose();
  const seconds = secondsBefore + (performance.now() - t0) / 1000;
  return { seconds, finalLoss: ema, steps: spec.steps, resumedFrom: start };
}

/** Removes a stage's partial checkpoint once the stage's final checkpoint is written. */
export function clearPartial(base: string): void {
  for (const f of [`${base}.bin`, `${base}.json`, `${base}-opt.bin`, `${base}-opt.json`])
    rmSync(f, { force: true });
}
