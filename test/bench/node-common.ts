// Shared by the Node benchmark contenders: the command line, the picture and the first turn. Node-only.

import path from 'node:path';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import type { ChatMessage, Dtype, RawImage } from '../../src/shared/protocol';
import { decodeSplit } from './run-log';
import {
  benchImagePixels,
  contenderName,
  DEFAULT_NEW_TOKENS,
  IMAGE_HEIGHT,
  IMAGE_WIDTH,
  QUESTIONS,
  type ContenderResult,
  type TurnTiming,
} from './conversation';

const { values } = parseArgs({
  options: {
    contender: { type: 'string' },
    runtime: { type: 'string', default: 'node' },
    dtype: { type: 'string', default: 'fp32' },
    model: { type: 'string' },
    threads: { type: 'string', default: '2' },
    'new-tokens': { type: 'string', default: DEFAULT_NEW_TOKENS.join(',') },
  },
  strict: true,
});

export const args = {
  contender: contenderName(values.contender),
  runtime: values.runtime === 'web' ? ('web' as const) : ('node' as const),
  dtype: values.dtype as Dtype,
  modelDir: path.resolve(values.model ?? ''),
  threads: Number(values.threads),
  newTokens: values['new-tokens'].split(',').map(Number),
};

export const backendLabel =
  args.runtime === 'node' ? `node onnxruntime-node ${args.dtype}` : `node onnxruntime-web wasm ${args.dtype}`;

/** onnxruntime-web's Node build, told where its wasm lives (never a CDN) and how many threads to use. */
export async function ortWeb() {
  const ort = await import('onnxruntime-web');
  const dist = path.dirname(createRequire(import.meta.url).resolve('onnxruntime-web'));
  ort.env.wasm.wasmPaths = `${pathToFileURL(dist).href}/`;
  ort.env.wasm.numThreads = args.threads;
  ort.env.logLevel = 'error';
  return ort;
}

export function benchImage(): RawImage {
  return { width: IMAGE_WIDTH, height: IMAGE_HEIGHT, data: benchImagePixels() };
}

export function firstTurn(img: RawImage): ChatMessage[] {
  return [
    {
      role: 'user',
      content: [
        { type: 'image', image: img },
        { type: 'text', text: QUESTIONS[0] },
      ],
    },
  ];
}

/** The decode split of the runs since `mark`, as a TurnTiming field (absent when there was no decode step). */
export function withSplit(mark: number): { decodeSplit?: { steps: number; wallMs: number; ortMs: number } } {
  const split = decodeSplit(mark);
  return split ? { decodeSplit: split } : {};
}

/** A Node contender's result (the parent adds peak RSS). */
export function nodeResult(loadMs: number, turns: TurnTiming[]): Omit<ContenderResult, 'peakRssBytes'> {
  return {
    contender: args.contender,
    backend: backendLabel,
    dtype: args.dtype,
    loadMs,
    turns,
    threads: args.threads,
  };
}
