// Owns stage 1 (projector alignment) as the browser runs it: the committed micro model with a freshly seeded
// projector, vision and language model frozen, caption pairs drawn fresh each step, greedy captions for exact match
// before and after. Runtime-agnostic (no Node APIs, no transformers.js): workers/train.worker.ts drives it, and it
// reuses the Node recipe's data, forward pass, loss, optimiser and step code.

import * as tf from '@tensorflow/tfjs-core';
import { preprocessImage } from '../../engine/image-preprocess';
import { parseImagePreprocess, type ImagePreprocessConfig } from '../../engine/model-config';
import { preprocessorConfigJson } from '../../modelgen/llava/config-files';
import type { BuiltTokenizer } from '../../modelgen/llava/tokenizer-json';
import type { LlavaHfConfig, WeightMap } from '../../modelgen/llava/types';
import { BRIEF_PROMPTS, caption, normalizeAnswer } from '../data/language';
import { captionRecord } from '../data/llava-format';
import { renderScene, toRgba } from '../data/render';
import { Rng, deriveSeed } from '../data/rng';
import { sampleScene } from '../data/scene';
import { imagePlacement, type PixelStore } from '../model/batches';
import { dimsOf, type Dims } from '../model/config';
import { llavaLogits } from '../model/forward';
import { AdamW, scheduledLr } from '../model/optimizer';
import { initParams, loadInto, type Params } from '../model/params';
import { conversationSequence, type SequenceContext, type TokenSequence } from '../model/sequences';
import { SYSTEM_PROMPTS } from '../model/system-prompts';
import { wordTokenizer, type WordTokenizer } from '../model/word-tokenizer';
import { STAGES } from './stages';
import { sequenceLoss, trainStep } from './step';
import { PATCH_CLASSES, SLOT_CLASSES } from './vision-probe';

/** The recipe's stage 1 (batch, learning rate, warm-up share), sized to the browser run's step count. */
export function alignSpec(steps: number): { steps: number; batch: number; lr: number; warmup: number } {
  const s = STAGES.find((x) => x.name === 'align')!;
  return { steps, batch: s.batch, lr: s.lr, warmup: Math.max(1, Math.round((s.warmup * steps) / s.steps)) };
}

export interface AlignModel {
  params: Params;
  d: Dims;
  config: LlavaHfConfig;
  image: ImagePreprocessConfig;
  tokenizer: WordTokenizer;
  ctx: SequenceContext<WordTokenizer>;
  padId: number;
  eosId: number;
}

/**
 * The trained micro model with its projector re-initialised from `seed` (the recipe's initialiser); vision and
 * language weights come from `weights`.
 */
export function alignModel(
  config: LlavaHfConfig,
  weights: WeightMap,
  tok: BuiltTokenizer,
  seed: number,
): AlignModel {
  const params = initParams(config, SLOT_CLASSES, deriveSeed(seed, 'init'), PATCH_CLASSES);
  const projector = new Set(params.namesIn(['projector']));
  loadInto(params, new Map([...weights].filter(([name]) => !projector.has(name))));
  const d = dimsOf(config);
  const tokenizer = wordTokenizer(tok);
  return {
    params,
    d,
    config,
    image: parseImagePreprocess(preprocessorConfigJson(config), config, config.vision_config.image_size),
    tokenizer,
    ctx: {
      tokenizer,
      imageTokenId: tok.ids.image,
      eosTokenId: tok.ids.eos,
      imageFeatures: d.grid * d.grid,
    },
    padId: tok.ids.pad,
    eosId: tok.ids.eos,
  };
}

/** A freshly drawn scene: its picture (RGBA), true caption and preprocessed pixels. */
export interface DrawnScene {
  id: string;
  width: number;
  height: number;
  rgba: Uint8ClampedArray;
  caption: string;
  pixels: Float32Array;
}

export function drawScene(m: AlignModel, rng: Rng, id: string): DrawnScene {
  const scene = sampleScene(rng, id);
  const img = renderScene(scene);
  const rgba = toRgba(img);
  const pixels = preprocessImage({ width: img.width, height: img.height, data: rgba }, m.image).data;
  return { id, width: img.width, height: img.height, rgba, caption: caption(scene), pixels };
}

function storeOf(m: AlignModel, scenes: readonly DrawnScene[]): PixelStore {
  const byId = new Map(scenes.map((s) => [s.id, s.pixels]));
  return { size: m.config.vision_config.image_size, get: (id) => byId.get(id)! };
}

/** The caption batch of step `step`: fresh scenes, a brief-description prompt each, one system prompt per batch. */
export function captionBatch(
  m: AlignModel,
  seed: number,
  step: number,
  batch: number,
): { seqs: TokenSequence[]; pixels: PixelStore } {
  const rng = new Rng(deriveSeed(seed, 'align', step));
  const system = SYSTEM_PROMPTS[step % SYSTEM_PROMPTS.length]!;
  const scenes: DrawnScene[] = [];
  const seqs: TokenSequence[] = [];
  for (let b = 0; b < batch; b++) {
    const s = drawScene(m, rng, `align-${step}-${b}`);
    scenes.push(s);
    seqs.push(
      conversationSequence(captionRecord(s.id, s.id, rng.pick(BRIEF_PROMPTS), s.caption), system, m.ctx),
    );
  }
  return { seqs, pixels: storeOf(m, scenes) };
}

export interface CaptionResult {
  scene: DrawnScene;
  answer: string;
  exact: boolean;
}

/**
 * Greedy captions (the engine's way: argmax until `</s>`) for `scenes`, asked with the first brief prompt in the
 * vicuna_v1 template, all scenes in one batch; exact match compares normalised text.
 */
export function captionScenes(m: AlignModel, scenes: readonly DrawnScene[], maxNew = 40): CaptionResult[] {
  if (scenes.length === 0) return [];
  const prompts = scenes.map((s) => {
    const seq = conversationSequence(
      captionRecord(s.id, s.id, BRIEF_PROMPTS[0]!, s.caption),
      SYSTEM_PROMPTS[0]!,
      m.ctx,
    );
    return { ids: Array.from(seq.ids.subarray(0, seq.answer.indexOf(1))), imageStart: seq.imageStart };
  });
  const B = scenes.length;
  const T0 = prompts[0]!.ids.length;
  if (prompts.some((p) => p.ids.length !== T0 || p.imageStart !== prompts[0]!.imageStart))
    throw new Error('caption prompts differ in length');
  const N = m.ctx.imageFeatures;
  const S = m.config.vision_config.image_size;
  const pix = new Float32Array(B * 3 * S * S);
  scenes.forEach((s, b) => pix.set(s.pixels, b * 3 * S * S));
  const pixels = tf.tensor4d(pix, [B, 3, S, S]);
  const rows = prompts.map((p) => p.ids.slice());
  const out: number[][] = scenes.map(() => []);
  const done = new Array<boolean>(B).fill(false);
  for (let k = 0; k < maxNew && done.includes(false); k++) {
    const T = rows[0]!.length;
    const next = tf.tidy(() => {
      const ids = tf.tensor2d(Int32Array.from(rows.flat()), [B, T], 'int32');
      const logits = llavaLogits(m.params, m.d, {
        ids,
        pixels,
        placement: imagePlacement(
          prompts.map((p) => p.imageStart),
          T,
          N,
        ),
      });
      const last = tf.slice(logits, [0, T - 1, 0], [B, 1, m.d.vocab]);
      return tf.argMax(tf.reshape(last, [B, m.d.vocab]), -1).dataSync();
    });
    for (let b = 0; b < B; b++) {
      const id = next[b]!;
      rows[b]!.push(id);
      if (done[b]) continue;
      if (id === m.eosId) done[b] = true;
      else out[b]!.push(id);
    }
  }
  pixels.dispose();
  return scenes.map((scene, b) => {
    const answer = m.tokenizer.decode(out[b]!);
    return { scene, answer, exact: done[b]! && normalizeAnswer(answer) === normalizeAnswer(scene.caption) };
  });
}

/** Scenes for the exact-match check, from their own seed stream (never a training step's). */
export function evalScenes(m: AlignModel, seed: number, count: number): DrawnScene[] {
  const rng = new Rng(deriveSeed(seed, 'align-eval'));
  return Array.from({ length: count }, (_, i) => drawScene(m, rng, `eval-${i}`));
}

export interface StepReport {
  step: number;
  total: number;
  loss: number;
  lr: number;
  seconds: number;
}

/**
 * Trains the projector for `steps` steps (vision and language model frozen: they get no gradients), yielding to
 * the event loop between steps so a stop request can land; `shouldStop` is checked before every step.
 * Returns how many steps ran.
 */
export async function alignProjector(
  m: AlignModel,
  o: {
    steps: number;
    seed: number;
    onStep: (r: StepReport) => void;
    shouldStop: () => boolean;
    batch?: number;
  },
): Promise<number> {
  const spec = alignSpec(o.steps);
  const batch = o.batch ?? spec.batch;
  const trainable = m.params.namesIn(['projector']).map((n) => m.params.get(n));
  const opt = new AdamW();
  const t0 = performance.now();
  let step = 0;
  try {
    for (; step < spec.steps; step++) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      if (o.shouldStop()) break;
      const lr = scheduledLr(spec.lr, step, spec.steps, spec.warmup);
      const { seqs, pixels } = captionBatch(m, o.seed, step, batch);
      const loss = trainStep(
        m.params,
        trainable,
        opt,
        sequenceLoss(m.params, m.d, seqs, m.padId, m.ctx.imageFeatures, pixels),
        lr,
      );
      if (!Number.isFinite(loss)) throw new Error(`loss became ${loss} at step ${step + 1}`);
      o.onStep({ step: step + 1, total: spec.steps, loss, lr, seconds: (performance.now() - t0) / 1000 });
    }
  } finally {
    opt.dispose();
  }
  return step;
}
