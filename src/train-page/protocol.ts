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
  | { type: 'stop' }
  /** Builds the model folder of the last run's aligned projector (answered by 'model-files'). */
  | { type: 'export' };

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
  /** `during: 'export'`: building the model folder failed; the trained run itself stands. */
  | { type: 'error'; message: string; during?: 'export' }
  /** The aligned model's folder in memory (manifest.json included), for the page to store. */
  | { type: 'model-files'; steps: number; files: Array<{ path: string; bytes: Uint8Array }> };
