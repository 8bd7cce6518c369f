// Owns the recipe's settings: the four stages (which parameter groups train, on what data, how long, how fast).
// Data only. The step counts are sized for ≤ 45 minutes on a 2-core machine with TF.js's WASM backend.

import type { ParamGroup } from '../model/params';

export type StageName = 'vision' | 'language' | 'align' | 'instruct';

export interface StageSpec {
  name: StageName;
  /** Human title for the progress display. */
  title: string;
  /** Parameter groups that receive gradients; everything else is frozen. */
  train: ParamGroup[];
  steps: number;
  batch: number;
  lr: number;
  warmup: number;
}

export const STAGES: readonly StageSpec[] = [
  {
    name: 'vision',
    title: 'stage 0a: pretrain the vision tower (stand-in for CLIP)',
    train: ['vision', 'head'],
    steps: 1200,
    batch: 64,
    lr: 3e-3,
    warmup: 100,
  },
  {
    name: 'language',
    title: 'stage 0b: pretrain the language model on text (stand-in for Vicuna)',
    train: ['language'],
    steps: 1000,
    batch: 32,
    lr: 3e-3,
    warmup: 100,
  },
  {
    name: 'align',
    title: 'stage 1: align the projector on caption pairs (vision and language frozen)',
    train: ['projector'],
    steps: 500,
    batch: 32,
    lr: 3e-3,
    warmup: 50,
  },
  {
    name: 'instruct',
    title: 'stage 2: instruction tuning (vision frozen; projector + language model)',
    train: ['projector', 'language'],
    steps: 4500,
    batch: 32,
    lr: 2e-3,
    warmup: 100,
  },
];

/** Scales every stage's steps (for quick smoke runs). */
export function scaledStages(scale: number): StageSpec[] {
  return STAGES.map((s) => ({
    ...s,
    steps: Math.max(1, Math.round(s.steps * scale)),
    warmup: Math.max(1, Math.round(s.warmup * Math.min(1, scale))),
  }));
}
