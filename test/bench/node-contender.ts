// Child process of the benchmark: runs ONE contender (our engine or transformers.js) on one Node backend
// (onnxruntime-node, or onnxruntime-web's WASM build in Node) through the three-turn conversation, and prints its
// ContenderResult as a `RESULT {json}` line. One contender a process, so peak RSS belongs to it alone.
//
//   tsx test/bench/node-contender.ts --contender ours|tjs --runtime node|web --dtype fp32|q4 --model DIR
//                                    [--threads N] [--new-tokens 48,16,16]

import path from 'node:path';
import { parseArgs } from 'node:util';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import type { BaseStreamer } from '@huggingface/transformers';
import { createEngine } from '../../src/engine/engine';
import { templateUsesContentParts, toTemplateMessages } from '../../src/engine/prompt';
import type { BackendDescriptor, OrtRuntime } from '../../src/engine/runtime';
import { folderSource } from '../../src/node/folder-source';
import type { ChatMessage, Dtype, RawImage } from '../../src/shared/protocol';
import {
  benchImagePixels,
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
    'new-tokens': { type: 'string', default: '48,16,16' },
  },
  strict: true,
});
const contender = values.contender === 'tjs' ? 'transformers.js' : 'ours';
const runtime = values.runtime === 'web' ? 'web' : 'node';
const dtype = values.dtype as Dtype;
const modelDir = path.resolve(values.model ?? '');
const threads = Number(values.threads);
const newTokens = values['new-tokens'].split(',').map(Number);
const backendLabel = runtime === 'node' ? `node onnxruntime-node ${dtype}` : `node onnxruntime-web wasm ${dtype}`;

/** onnxruntime-web's Node build, told where its wasm lives (never a CDN) and how many threads to use. */
async function ortWeb() {
  const ort = await import('onnxruntime-web');
  const dist = path.dirname(createRequire(import.meta.url).resolve('onnxruntime-web'));
  ort.env.wasm.wasmPaths = `${pathToFileURL(dist).href}/`;
  ort.env.wasm.numThreads = threads;
  ort.env.logLevel = 'error';
  return ort;
}

function image(): RawImage {
  return { width: IMAGE_WIDTH, height: IMAGE_HEIGHT, data: benchImagePixels() };
}

function firstTurn(img: RawImage): ChatMessage[] {
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

async function runOurs(): Promise<Omit<ContenderResult, 'peakRssBytes'>> {
  const ort: OrtRuntime = runtime === 'node' ? await import('onnxruntime-node') : await ortWeb();
  const backend: BackendDescriptor = {
    name: runtime === 'node' ? 'cpu' : 'wasm',
    executionProviders: [runtime === 'node' ? 'cpu' : 'wasm'],
    keepKvOnDevice: false,
    adapter: null,
    shaderF16: false,
    threads,
  };
  const engine = createEngine({
    ort,
    openSource: async () => folderSource(modelDir),
    decodeImage: () => Promise.reject(new Error('the benchmark hands raw pixels')),
    selectBackend: async () => backend,
  });
  const t0 = performance.now();
  await engine.load({ kind: 'local', id: 'bench' }, { dtype });
  const loadMs = performance.now() - t0;
  const img = image();
  const messages = firstTurn(img);
  const turns: TurnTiming[] = [];
  for (let k = 0; k < QUESTIONS.length; k++) {
    const r = await engine.chat({
      messages,
      sampling: { maxNewTokens: newTokens[k] ?? 16 },
      conversationId: 'bench',
    });
    turns.push({
      promptTokens: r.usage.promptTokens,
      ttftMs: r.usage.timeToFirstTokenMs,
      newTokens: r.usage.completionTokens,
      decodeTokPerS: r.usage.decodeTokensPerS,
      reusedPromptTokens: r.usage.reusedPromptTokens ?? 0,
      text: r.message.content,
    });
    const next = QUESTIONS[k + 1];
    if (next) messages.push({ role: 'assistant', content: r.message.content }, { role: 'user', content: next });
  }
  await engine.unload();
  return { contender, backend: backendLabel, dtype, loadMs, turns, threads };
}

async function runTransformers(): Promise<Omit<ContenderResult, 'peakRssBytes'>> {
  if (runtime === 'web') {
    // transformers.js uses a runtime placed here instead of its own onnxruntime-node (its documented hook).
    (globalThis as Record<symbol, unknown>)[Symbol.for('onnxruntime')] = await ortWeb();
  }
  const hf = await import('@huggingface/transformers');
  const { offlineModelId } = await import('../fixtures/transformers-offline');
  const id = offlineModelId(modelDir);
  const t0 = performance.now();
  const processor = await hf.AutoProcessor.from_pretrained(id);
  const model = await hf.LlavaForConditionalGeneration.from_pretrained(id, {
    dtype,
    ...(runtime === 'node'
      ? { device: 'cpu' as const }
      : { device: 'auto' as const, session_options: { executionProviders: ['wasm'] } }),
  });
  const loadMs = performance.now() - t0;
  const img = image();
  const hfImage = new hf.RawImage(img.data, img.width, img.height, 4);
  const tokenizer = processor.tokenizer as NonNullable<typeof processor.tokenizer>;
  const template = typeof tokenizer.chat_template === 'string' ? tokenizer.chat_template : '';
  const messages = firstTurn(img);
  const turns: TurnTiming[] = [];
  for (let k = 0; k < QUESTIONS.length; k++) {
    const prompt = tokenizer.apply_chat_template(
      toTemplateMessages(messages, templateUsesContentParts(template), '<image>'),
      { tokenize: false, add_generation_prompt: true },
    ) as string;
    const stamps: number[] = [];
    let puts = 0;
    const streamer = {
      // The first put is the prompt; every later one is a generated token.
      put: () => {
        if (puts++ > 0) stamps.push(performance.now());
      },
      end: () => undefined,
    } as unknown as BaseStreamer;
    const start = performance.now();
    const inputs = await processor(hfImage, prompt);
    const promptTokens = inputs.input_ids.dims[1] as number;
    const out = (await model.generate({
      ...inputs,
      max_new_tokens: newTokens[k] ?? 16,
      do_sample: false,
      streamer,
    })) as import('@huggingface/transformers').Tensor;
    const ids = Array.from(out.data as BigInt64Array, Number).slice(promptTokens);
    const first = stamps[0] ?? start;
    const last = stamps[stamps.length - 1] ?? first;
    const text = tokenizer.decode(ids, { skip_special_tokens: true });
    turns.push({
      promptTokens,
      ttftMs: first - start,
      newTokens: stamps.length,
      decodeTokPerS: stamps.length > 1 && last > first ? (stamps.length - 1) / ((last - first) / 1000) : 0,
      text,
    });
    const next = QUESTIONS[k + 1];
    if (next) messages.push({ role: 'assistant', content: text }, { role: 'user', content: next });
  }
  await model.dispose();
  return { contender, backend: backendLabel, dtype, loadMs, turns, threads };
}

async function main(): Promise<void> {
  let result: ContenderResult;
  try {
    const r = contender === 'ours' ? await runOurs() : await runTransformers();
    result = { ...r, peakRssBytes: process.resourceUsage().maxRSS * 1024 };
  } catch (error) {
    result = {
      contender,
      backend: backendLabel,
      dtype,
      loadMs: 0,
      turns: [],
      threads,
      peakRssBytes: process.resourceUsage().maxRSS * 1024,
      error: error instanceof Error ? `${error.message}\n${error.stack ?? ''}` : String(error),
    };
  }
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
  // onnxruntime-web's thread pool keeps worker threads alive; the result is out, so leave now.
  process.exit(0);
}

void main();
