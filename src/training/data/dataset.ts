// Owns generating the micro data set (scenes, images, stage-1 captions, stage-2 instructions, text pretraining,
// held-out eval questions) and writing/reading it as files in LLaVA's formats. Node-only (fs).

import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { Rng, deriveSeed } from './rng';
import { sampleScene, type Scene } from './scene';
import { renderScene, type RgbImage } from './render';
import { encodePng, decodePng } from './png';
import {
  ALL_CATEGORIES,
  BRIEF_PROMPTS,
  caption,
  makeComplex,
  makeConversation,
  makeQuestion,
  makeQuestionRetry,
  type QA,
} from './language';
import {
  captionRecord,
  conversationRecord,
  textRecord,
  type EvalQuestion,
  type EvalReference,
  type LlavaRecord,
} from './llava-format';

export interface DatasetOptions {
  seed: number;
  trainScenes: number;
  devScenes: number;
  testScenes: number;
  /** Questions asked about each eval scene (categories taken in turn, so every category is covered evenly). */
  questionsPerEvalScene: number;
}

/** Bump when scenes, rendering or language change, so an old data set on disk is regenerated. */
export const DATA_VERSION = 6;

export const DEFAULT_DATASET: DatasetOptions = {
  seed: 20240917,
  trainScenes: 10000,
  devScenes: 150,
  testScenes: 400,
  questionsPerEvalScene: 3,
};

/** Symbolic description of a scene as written to scenes_*.json (caption + labelled boxes, as LLaVA's GPT-4 saw). */
export interface SceneAnnotation {
  id: string;
  image: string;
  caption: string;
  boxes: Array<{ label: string; box: [number, number, number, number] }>;
  scene: Scene;
}

export const FILES = {
  meta: 'meta.json',
  scenes: 'scenes_train.json',
  pretrain: 'llava_pretrain_micro.json',
  instruct: 'llava_instruct_micro.json',
  text: 'text_pretrain_micro.json',
  questions: (split: string) => `eval/${split}/questions.jsonl`,
  references: (split: string) => `eval/${split}/references.jsonl`,
  evalScenes: (split: string) => `eval/${split}/scenes.json`,
} as const;

function annotate(scene: Scene, image: string): SceneAnnotation {
  return {
    id: scene.id,
    image,
    caption: caption(scene),
    boxes: scene.objects.map((o) => ({ label: `${o.color} ${o.shape}`, box: o.box })),
    scene,
  };
}

function writeJson(file: string, value: unknown): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(value));
}

function writeJsonl(file: string, rows: readonly unknown[]): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
}

export function readJsonl<T>(file: string): T[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim().length > 0)
    .map((l) => JSON.parse(l) as T);
}

function writeImage(root: string, rel: string, scene: Scene): void {
  const file = path.join(root, rel);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, encodePng(renderScene(scene)));
}

/** Generates held-out scenes and their questions; the split name is part of the seed so splits never overlap. */
export function generateEvalSplit(
  seed: number,
  split: string,
  scenes: number,
  perScene: number,
): { scenes: Scene[]; questions: EvalQuestion[]; references: EvalReference[]; qas: QA[] } {
  const rng = new Rng(deriveSeed(seed, 'eval', split));
  const out: Scene[] = [];
  const questions: EvalQuestion[] = [];
  const references: EvalReference[] = [];
  const qas: QA[] = [];
  let turn = 0;
  for (let i = 0; i < scenes; i++) {
    const scene = sampleScene(rng, `${split}-${String(i).padStart(5, '0')}`);
    out.push(scene);
    for (let k = 0; k < perScene; k++) {
      // Walk the category list; a category the scene cannot support falls back to the next one.
      let qa: QA | null = null;
      for (let t = 0; t < ALL_CATEGORIES.length && !qa; t++) {
        qa = makeQuestionRetry(scene, ALL_CATEGORIES[(turn + t) % ALL_CATEGORIES.length]!, rng);
      }
      turn++;
      if (!qa) continue;
      const question_id = `${scene.id}-${k}`;
      questions.push({
        question_id,
        image: `images/${scene.id}.png`,
        text: qa.question,
        category: qa.category,
        kind: qa.kind,
      });
      references.push({ question_id, text: qa.answer });
      qas.push(qa);
    }
  }
  return { scenes: out, questions, references, qas };
}

/** Writes one held-out split (PNG images, questions, references, scenes) under `root/eval/<split>`; returns its size. */
export function writeEvalSplit(
  root: string,
  seed: number,
  split: string,
  scenes: number,
  perScene: number,
): number {
  const ev = generateEvalSplit(seed, split, scenes, perScene);
  for (const scene of ev.scenes) writeImage(path.join(root, 'eval', split), `images/${scene.id}.png`, scene);
  writeJson(
    path.join(root, FILES.evalScenes(split)),
    ev.scenes.map((s) => annotate(s, `images/${s.id}.png`)),
  );
  writeJsonl(path.join(root, FILES.questions(split)), ev.questions);
  writeJsonl(path.join(root, FILES.references(split)), ev.references);
  return ev.questions.length;
}

export interface WrittenDataset {
  root: string;
  counts: Record<string, number>;
}

/** Generates and writes the whole data set under `root`. Deterministic for a given seed and sizes. */
export function writeDataset(
  root: string,
  options: DatasetOptions,
  onProgress?: (done: number, total: number) => void,
): WrittenDataset {
  const rng = new Rng(deriveSeed(options.seed, 'train'));
  const annotations: SceneAnnotation[] = [];
  const pretrain: LlavaRecord[] = [];
  const instruct: LlavaRecord[] = [];
  const text: LlavaRecord[] = [];
  for (let i = 0; i < options.trainScenes; i++) {
    const scene = sampleScene(rng, `train-${String(i).padStart(6, '0')}`);
    const image = `images/train/${scene.id}.png`;
    writeImage(root, image, scene);
    annotations.push(annotate(scene, image));
    pretrain.push(captionRecord(`${scene.id}-cap`, image, rng.pick(BRIEF_PROMPTS), caption(scene)));
    instruct.push(
      conversationRecord(`${scene.id}-conv`, image, makeConversation(scene, rng), 'conversation'),
    );
    instruct.push(
      conversationRecord(`${scene.id}-detail`, image, [makeQuestion(scene, 'description', rng)!], 'detail'),
    );
    instruct.push(conversationRecord(`${scene.id}-complex`, image, [makeComplex(scene, rng)], 'complex'));
    // Text-only chats about a scene given in words: conversations, reasoning, and both kinds of description (the
    // brief one is the stage-1 task), so the language model already knows every task before it sees an image.
    const u = rng.next();
    const textQas: QA[] =
      u < 0.4
        ? makeConversation(scene, rng)
        : u < 0.7
          ? [makeComplex(scene, rng)]
          : u < 0.85
            ? [
                {
                  kind: 'detail',
                  category: 'description',
                  question: rng.pick(BRIEF_PROMPTS),
                  answer: caption(scene),
                },
              ]
            : [makeQuestion(scene, 'description', rng)!];
    text.push(textRecord(`${scene.id}-text`, `Scene: ${caption(scene)}`, textQas));
    if (onProgress && (i + 1) % 500 === 0) onProgress(i + 1, options.trainScenes);
  }
  writeJson(path.join(root, FILES.scenes), annotations);
  writeJson(path.join(root, FILES.pretrain), pretrain);
  writeJson(path.join(root, FILES.instruct), instruct);
  writeJson(path.join(root, FILES.text), text);

  const counts: Record<string, number> = {
    scenes: annotations.length,
    captions: pretrain.length,
    instructions: instruct.length,
    text: text.length,
  };
  counts.devQuestions = writeEvalSplit(
    root,
    options.seed,
    'dev',
    options.devScenes,
    options.questionsPerEvalScene,
  );
  counts.testQuestions = writeEvalSplit(
    root,
    options.seed,
    'test',
    options.testScenes,
    options.questionsPerEvalScene,
  );
  writeJson(path.join(root, FILES.meta), { version: DATA_VERSION, options, counts });
  return { root, counts };
}

/** True when a data set written with the same options exists under `root`. */
export function datasetMatches(root: string, options: DatasetOptions): boolean {
  const file = path.join(root, FILES.meta);
  if (!existsSync(file)) return false;
  const meta = JSON.parse(readFileSync(file, 'utf8')) as { version?: number; options?: DatasetOptions };
  return meta.version === DATA_VERSION && JSON.stringify(meta.options) === JSON.stringify(options);
}

export function readJson<T>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

/** Reads a PNG of the data set. */
export function readImage(root: string, rel: string): RgbImage {
  return decodePng(readFileSync(path.join(root, rel)));
}
