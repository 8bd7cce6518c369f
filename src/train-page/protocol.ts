// Owns the messages between the training page and workers/train.worker.ts. Types only.

export type TrainRequest =
  | {
      type: 'start';
      steps: number;
      seed: number;
      /** Scenes captioned before and after training for exact match. */
      evalScenes: number;
      /** How many of them come back with their picture. */
      samples: number;
      /** Caption pairs per step (the recipe's 32 when absent). */
      batch?: number;
    }
  | { type: 'stop' };

export interface CaptionSample {
  width: number;
  height: number;
  rgba: Uint8ClampedArray;
  truth: string;
  answer: string;
  exact: boolean;
}

export type TrainEvent =
  | { type: 'status'; text: string }
  | { type: 'progress'; step: number; total: number; loss: number; lr: number; seconds: number }
  | {
      type: 'eval';
      phase: 'before' | 'after';
      exact: number;
      total: number;
      samples: CaptionSample[];
    }
  | { type: 'done'; stopped: boolean; steps: number; trainSeconds: number; seconds: number }
  | { type: 'error'; message: string };
