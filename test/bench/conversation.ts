// Owns the benchmark's conversation (the picture, the questions, how many tokens each answer gets) and the result
// record every contender reports. Shared by the Node children and the browser pages; no Node or DOM imports.

/** Three questions about one picture; turn 3's prompt carries the picture and both earlier answers. */
export const QUESTIONS = [
  'What is in this picture? Describe it in detail.',
  'What colours stand out the most?',
  'Summarise what we said about the picture in one sentence.',
] as const;

/** New tokens per turn: about what LLaVA answers a detailed description and two short follow-ups with; turn 1 is also
 * long enough to time decoding. */
export const DEFAULT_NEW_TOKENS = [96, 32, 24] as const;

/**
 * The pause between an answer and the next question (reading and typing take far longer): the same for both
 * contenders. Ours uses it to close the turn ahead; work still queued after it counts toward the next TTFT (Node).
 */
export const THINK_TIME_MS = 2000;

export function thinkTime(): Promise<void> {
  return sleep(THINK_TIME_MS);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

/** A chat message as either runtime's driver spells it (the engine's own, or the browser harness's). */
export interface MessageLike {
  role: 'system' | 'user' | 'assistant';
  content: string | readonly ({ type: 'text'; text: string } | { type: 'image' })[];
}

/** The conversation with its last message's words replaced by `draft` (pictures kept). */
export function withDraft<M extends MessageLike>(messages: readonly M[], draft: string): M[] {
  const last = messages[messages.length - 1] as M;
  const content =
    typeof last.content === 'string'
      ? draft
      : last.content.map((p) => (p.type === 'text' ? { ...p, text: draft } : p));
  return [...messages.slice(0, -1), { ...last, content }];
}

/** The draft a typist has written part-way through a question: its first half of words. */
export function halfTyped(question: string): string {
  const words = question.split(' ');
  return words.slice(0, Math.ceil(words.length / 2)).join(' ');
}

/**
 * The think time of a contender that works ahead while the question is typed (the app does so through the engine's
 * `prepare`, 400 ms after the draft or its pictures last changed): a picture attached at 0 s is worked on from 0.4 s
 * (`picture`, turn 1), half the question is written at 1.0 s, all of it at 1.6 s, Enter at 2.0 s. `prepare` is
 * awaited; returns by how many ms that work overran the Enter press (charged to the TTFT).
 */
export async function typeAhead(
  question: string,
  prepare: (draft: string) => Promise<void>,
  picture = false,
): Promise<number> {
  const t0 = performance.now();
  if (picture) {
    await sleep(400);
    await prepare('');
  }
  await sleep(t0 + 1000 - performance.now());
  await prepare(halfTyped(question));
  await sleep(t0 + 1600 - performance.now());
  await prepare(question);
  const late = performance.now() - (t0 + THINK_TIME_MS);
  await sleep(-late);
  return Math.max(0, late);
}

/** Photo-sized input (resized to the model's 224 px by both contenders' preprocessing). */
export const IMAGE_WIDTH = 640;
export const IMAGE_HEIGHT = 480;

/** Deterministic RGBA gradients with some noise, the same bytes in every contender. */
export function benchImagePixels(width = IMAGE_WIDTH, height = IMAGE_HEIGHT): Uint8ClampedArray {
  const data = new Uint8ClampedArray(width * height * 4);
  let seed = 12345;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      const noise = (seed >>> 24) & 31;
      const i = (y * width + x) * 4;
      data[i] = (x * 255) / width + noise;
      data[i + 1] = (y * 255) / height + noise;
      data[i + 2] = ((x + y) * 127) / (width + height) + noise;
      data[i + 3] = 255;
    }
  }
  return data;
}

export interface TurnTiming {
  promptTokens: number;
  /** From the call (image decoding and preprocessing included) to the first generated token. */
  ttftMs: number;
  newTokens: number;
  /** Tokens after the first, per second of decoding. */
  decodeTokPerS: number;
  /** Prompt tokens whose KV came from the cache (ours only). */
  reusedPromptTokens?: number;
  /** The answer's text (special tokens skipped). */
  text: string;
  /** Node runs: decode steps after the prefill, their wall time and the time spent inside session.run. */
  decodeSplit?: { steps: number; wallMs: number; ortMs: number };
}

/**
 * Ours, ours working ahead while each question is typed (`typeAhead`; also the first one, with the picture already
 * attached), and transformers.js.
 */
export type ContenderName = 'ours' | 'ours, typed ahead' | 'transformers.js';

/** Command-line ids of the contenders. */
export type ContenderId = 'ours' | 'ahead' | 'tjs';

export function contenderName(id: string | undefined): ContenderName {
  if (id === 'tjs') return 'transformers.js';
  return id === 'ahead' ? 'ours, typed ahead' : 'ours';
}

/** What one contender measured on one backend. */
export interface ContenderResult {
  contender: ContenderName;
  backend: string;
  dtype: string;
  loadMs: number;
  turns: TurnTiming[];
  /** Peak resident memory of the process that ran it (the renderer's for browser runs, when known). */
  peakRssBytes: number | null;
  threads: number;
  error?: string;
}
