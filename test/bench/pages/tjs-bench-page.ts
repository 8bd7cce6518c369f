// Benchmark page: the contender "transformers.js in the browser". Loads LlavaForConditionalGeneration from the served
// model folder (offline: local files, runtime files from /ort/) and runs the benchmark conversation on the main thread,
// re-prefilling the whole conversation every turn as generate() does. Built only by test/bench/browser-build.ts.
import * as hf from '@huggingface/transformers';
import { templateUsesContentParts, toTemplateMessages } from '../../../src/engine/prompt';
import type { ChatMessage, RawImage } from '../../../src/shared/protocol';
import {
  benchImagePixels,
  IMAGE_HEIGHT,
  IMAGE_WIDTH,
  QUESTIONS,
  thinkTime,
  type TurnTiming,
} from '../conversation';

export interface TjsRun {
  modelId: string;
  dtype: 'fp32' | 'q4';
  device: 'wasm' | 'webgpu';
  newTokens: number[];
}

export interface TjsOutcome {
  loadMs: number;
  turns: TurnTiming[];
  threads: number;
}

/** The same thread rule as the app's worker (workers/ort-env.ts): up to 4, only when cross-origin isolated. */
const threads = self.crossOriginIsolated ? Math.max(1, Math.min(4, navigator.hardwareConcurrency || 2)) : 1;

hf.env.allowRemoteModels = false;
hf.env.allowLocalModels = true;
hf.env.localModelPath = '/models/';
hf.env.useBrowserCache = false;
const wasm = hf.env.backends.onnx.wasm;
if (wasm) {
  wasm.wasmPaths = '/ort/';
  wasm.numThreads = threads;
  wasm.proxy = false;
}

async function run(config: TjsRun): Promise<TjsOutcome> {
  const t0 = performance.now();
  const processor = await hf.AutoProcessor.from_pretrained(config.modelId);
  const model = await hf.LlavaForConditionalGeneration.from_pretrained(config.modelId, {
    dtype: config.dtype,
    device: config.device,
  });
  const loadMs = performance.now() - t0;
  const image: RawImage = { width: IMAGE_WIDTH, height: IMAGE_HEIGHT, data: benchImagePixels() };
  const hfImage = new hf.RawImage(image.data, image.width, image.height, 4);
  const tokenizer = processor.tokenizer as NonNullable<typeof processor.tokenizer>;
  const template = typeof tokenizer.chat_template === 'string' ? tokenizer.chat_template : '';
  const messages: ChatMessage[] = [
    {
      role: 'user',
      content: [
        { type: 'image', image },
        { type: 'text', text: QUESTIONS[0] },
      ],
    },
  ];
  const turns: TurnTiming[] = [];
  for (let k = 0; k < QUESTIONS.length; k++) {
    const prompt = tokenizer.apply_chat_template(
      toTemplateMessages(messages, templateUsesContentParts(template), '<image>'),
      { tokenize: false, add_generation_prompt: true },
    ) as string;
    const stamps: number[] = [];
    // A chat UI streams text as it comes: transformers.js's own TextStreamer (it decodes as it goes, as ours does).
    const streamer = new hf.TextStreamer(tokenizer, {
      skip_prompt: true,
      skip_special_tokens: true,
      callback_function: () => undefined,
      token_callback_function: () => stamps.push(performance.now()),
    });
    const start = performance.now();
    const inputs = await processor(hfImage, prompt);
    const promptTokens = inputs.input_ids.dims[1] as number;
    const out = (await model.generate({
      ...inputs,
      max_new_tokens: config.newTokens[k] ?? 16,
      do_sample: false,
      streamer,
    })) as hf.Tensor;
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
    if (next) {
      messages.push({ role: 'assistant', content: text }, { role: 'user', content: next });
      await thinkTime();
    }
  }
  await model.dispose();
  return { loadMs, turns, threads };
}

(globalThis as unknown as { bench: { run: typeof run } }).bench = { run };
