// Owns the whole micro recipe end to end: data (generated if missing), tokenizer, the four stages with a checkpoint
// after each (resumable), the time summary, and the export of the result. Node-only.

import * as tf from '@tensorflow/tfjs-core';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import {
  DEFAULT_DATASET,
  datasetMatches,
  writeDataset,
  readJson,
  FILES,
  type DatasetOptions,
  type SceneAnnotation,
} from '../data/dataset';
import { Rng, deriveSeed } from '../data/rng';
import { sampleScene } from '../data/scene';
import { renderScene, toRgba } from '../data/render';
import { preprocessImage } from '../../engine/image-preprocess';
import { initTf } from '../model/backend';
import { batchIndices, type PixelStore } from '../model/batches';
import { dimsOf } from '../model/config';
import { initParams, loadInto, toWeightMap, type Params } from '../model/params';
import { readTensorFile, writeTensorFile } from '../model/tensor-file';
import type { TokenSequence } from '../model/sequences';
import { conversationSequences, loadData, pixelStore, type LoadedData } from './data-loader';
import { SYSTEM_PROMPTS } from '../model/tokenizer';
import { clearPartial, runStage, type LossFn } from './trainer';
import { sequenceLoss } from './step';
import { scaledStages, type StageName, type StageSpec } from './stages';
import {
  PATCH_CLASSES,
  patchLabels,
  probeAccuracy,
  probeLoss,
  slotLabels,
  SLOT_CLASSES,
} from './vision-probe';
import { writeMicroModelFolder } from './export';

export interface TrainOptions {
  dataRoot: string;
  outDir: string;
  seed: number;
  dataset: DatasetOptions;
  /** Multiplies every stage's step count (1 = the full recipe). */
  scale: number;
  log: (line: string) => void;
}

export interface TrainSummary {
  seconds: Record<string, number>;
  totalSeconds: number;
  losses: Record<string, number>;
  visionProbeAccuracy: number | null;
  params: number;
  modelDir: string;
  weightsBase: string;
}

interface Progress {
  key: string;
  completed: Partial<Record<StageName | 'data', { seconds: number; loss: number }>>;
  visionProbeAccuracy?: number;
}

function lossFor(
  stage: StageSpec,
  data: LoadedData,
  params: Params,
  pixels: PixelStore,
  seed: number,
): LossFn {
  const d = dimsOf(data.config);
  if (stage.name === 'vision') {
    // Freshly drawn scenes every step: the tower sees as many images as it has steps, as CLIP saw web-scale data.
    return (step) => {
      const rng = new Rng(deriveSeed(seed, 'vision', step));
      const S = pixels.size;
      const px = new Float32Array(stage.batch * 3 * S * S);
      const labels = new Int32Array(stage.batch * 6);
      const patches = d.grid * d.grid;
      const dense = new Int32Array(stage.batch * patches * 4);
      for (let b = 0; b < stage.batch; b++) {
        const scene = sampleScene(rng, `vision-${step}-${b}`);
        const img = renderScene(scene);
        px.set(
          preprocessImage({ width: img.width, height: img.height, data: toRgba(img) }, data.image).data,
          b * 3 * S * S,
        );
        labels.set(slotLabels(scene), b * 6);
        dense.set(patchLabels(scene, d.patch), b * patches * 4);
      }
      const pt = tf.tensor4d(px, [stage.batch, 3, S, S]);
      const lt = tf.tensor2d(labels, [stage.batch, 6], 'int32');
      const dt = tf.tensor2d(dense, [stage.batch, patches * 4], 'int32');
      return {
        loss: () => probeLoss(params, d, pt, lt, dt),
        tokens: stage.batch,
        dispose: () => tf.dispose([pt, lt, dt]),
      };
    };
  }
  // One list per system prompt of the engine's two LLaVA templates; a batch uses one of them throughout, so its
  // system prompt is a prefix shared by the whole batch and runs once (decodeShared).
  let variants: TokenSequence[][];
  {
    const records =
      stage.name === 'language' ? data.text : stage.name === 'align' ? data.captions : data.instruct;
    variants = SYSTEM_PROMPTS.map((system) => conversationSequences(records, data.ctx, system));
  }
  const lengths = variants.map((seqs) => Int32Array.from(seqs.map((s) => s.ids.length)));
  const withImages = stage.name !== 'language';
  const poolFactor = 8;
  return (step) => {
    const v = deriveSeed(seed, stage.name, 'variant', Math.floor(step / poolFactor)) % variants.length;
    const seqs = variants[v]!;
    const idx = batchIndices(
      seqs.length,
      stage.batch,
      deriveSeed(seed, stage.name),
      step,
      lengths[v]!,
      poolFactor,
    );
    return sequenceLoss(
      params,
      d,
      idx.map((i) => seqs[i]!),
      data.tokenizer.ids.pad,
      data.ctx.imageFeatures,
      withImages ? pixels : null,
    );
  };
}

/** Slot accuracy of the vision probe on held-out dev scenes. */
function visionDevAccuracy(data: LoadedData, params: Params): number {
  const dir = path.join(data.root, 'eval', 'dev');
  const scenes = readJson<SceneAnnotation[]>(path.join(data.root, FILES.evalScenes('dev')));
  const store = pixelStore(dir, data.image, data.config.vision_config.image_size);
  const S = store.size;
  const px = new Float32Array(scenes.length * 3 * S * S);
  const labels = new Int32Array(scenes.length * 6);
  scenes.forEach((s, i) => {
    px.set(store.get(s.image), i * 3 * S * S);
    labels.set(slotLabels(s.scene), i * 6);
  });
  const pt = tf.tensor4d(px, [scenes.length, 3, S, S]);
  const acc = probeAccuracy(params, dimsOf(data.config), pt, labels);
  pt.dispose();
  return acc;
}

/** Runs (or resumes) the whole recipe and exports the model folder. */
export async function trainMicro(o: TrainOptions): Promise<TrainSummary> {
  const log = o.log;
  const stages = scaledStages(o.scale);
  const ckptDir = path.join(o.outDir, 'checkpoints');
  mkdirSync(ckptDir, { recursive: true });
  const progressFile = path.join(o.outDir, 'progress.json');
  const key = JSON.stringify({ seed: o.seed, dataset: o.dataset, stages });
  let progress: Progress = { key, completed: {} };
  if (existsSync(progressFile)) {
    const saved = JSON.parse(readFileSync(progressFile, 'utf8')) as Progress;
    if (saved.key === key) progress = saved;
    else log('settings changed since the last run: starting over (old checkpoints are ignored)');
  }
  const saveProgress = () => writeFileSync(progressFile, `${JSON.stringify(progress, null, 1)}\n`);
  if (progress.key === key && Object.keys(progress.completed).length === 0) saveProgress();

  if (!progress.completed.data || !datasetMatches(o.dataRoot, o.dataset)) {
    const t0 = performance.now();
    log(`data: generating ${o.dataset.trainScenes} training scenes into ${o.dataRoot}`);
    const written = writeDataset(o.dataRoot, o.dataset);
    log(`data: ${JSON.stringify(written.counts)}`);
    progress.completed.data = { seconds: (performance.now() - t0) / 1000, loss: 0 };
    saveProgress();
  }
  await initTf();
  const tLoad = performance.now();
  const data = loadData(o.dataRoot);
  const params = initParams(data.config, SLOT_CLASSES, deriveSeed(o.seed, 'init'), PATCH_CLASSES);
  const pixels = pixelStore(o.dataRoot, data.image, data.config.vision_config.image_size);
  log(
    `model: vocab ${data.config.text_config.vocab_size}, ${params.count(['vision', 'projector', 'language'])} parameters ` +
      `(vision ${params.count(['vision'])}, projector ${params.count(['projector'])}, language ${params.count(['language'])}); ` +
      `data loaded in ${((performance.now() - tLoad) / 1000).toFixed(1)} s`,
  );
  let lastDone: string | null = null;
  for (const s of stages) if (progress.completed[s.name]) lastDone = s.name;
  if (lastDone) {
    loadInto(params, readTensorFile(path.join(ckptDir, lastDone)).weights);
    log(`resuming after stage "${lastDone}"`);
  }
  for (const [i, stage] of stages.entries()) {
    if (progress.completed[stage.name]) continue;
    log(
      `${stage.title}: ${stage.steps} steps × batch ${stage.batch}, ${params.count(stage.train)} trainable parameters`,
    );
    const r = runStage({
      spec: stage,
      index: i + 1,
      total: stages.length,
      params,
      lossAt: lossFor(stage, data, params, pixels, o.seed),
      partialBase: path.join(ckptDir, `${stage.name}-partial`),
      checkpointEvery: 200,
      log,
    });
    writeTensorFile(path.join(ckptDir, stage.name), toWeightMap(params, true), { stage: stage.name });
    clearPartial(path.join(ckptDir, `${stage.name}-partial`));
    progress.completed[stage.name] = { seconds: r.seconds, loss: r.finalLoss };
    if (stage.name === 'vision') {
      progress.visionProbeAccuracy = visionDevAccuracy(data, params);
      log(
        `  vision probe: ${(100 * progress.visionProbeAccuracy).toFixed(1)} % of dev columns right (colour and shape)`,
      );
    }
    saveProgress();
    log(`  done in ${r.seconds.toFixed(0)} s, final loss ${r.finalLoss.toFixed(4)}`);
  }
  const weights = toWeightMap(params);
  const weightsBase = path.join(o.outDir, 'micro-llava');
  writeTensorFile(weightsBase, weights, { config: data.config, tokenizer: 'micro-llava-tokenizer.json' });
  writeFileSync(path.join(o.outDir, 'micro-llava-tokenizer.json'), JSON.stringify(data.tokenizer.json));
  const modelDir = path.join(o.outDir, 'model');
  const tExport = performance.now();
  writeMicroModelFolder(modelDir, { config: data.config, weights, tokenizer: data.tokenizer });
  const exportSeconds = (performance.now() - tExport) / 1000;
  const seconds: Record<string, number> = {};
  const losses: Record<string, number> = {};
  for (const [k, v] of Object.entries(progress.completed)) {
    seconds[k] = v.seconds;
    losses[k] = v.loss;
  }
  seconds.export = exportSeconds;
  const summary: TrainSummary = {
    seconds,
    totalSeconds: Object.values(seconds).reduce((a, b) => a + b, 0),
    losses,
    visionProbeAccuracy: progress.visionProbeAccuracy ?? null,
    params: params.count(['vision', 'projector', 'language']),
    modelDir,
    weightsBase,
  };
  writeFileSync(path.join(o.outDir, 'summary.json'), `${JSON.stringify(summary, null, 1)}\n`);
  params.dispose();
  return summary;
}

export { DEFAULT_DATASET };
