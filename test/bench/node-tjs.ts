// Benchmark contender "transformers.js" in Node: LlavaForConditionalGeneration.generate (AutoProcessor, offline) on
// onnxruntime-node, or on onnxruntime-web's WASM build handed over through transformers.js's global runtime hook.
// Imported by node-contender.ts only when this contender runs, so transformers.js loads after the hook is set.

import type { Tensor } from '@huggingface/transformers';
import { templateUsesContentParts, toTemplateMessages } from '../../src/engine/prompt';
import { QUESTIONS, thinkTime, type ContenderResult, type TurnTiming } from './conversation';
import { args, backendLabel, benchImage, firstTurn, ortWeb, withSplit } from './node-common';
import { instrumentOrt, runMark } from './run-log';

/** transformers.js generate(), which re-prefills the whole conversation (and re-encodes the image) every turn. */
export async function runTransformers(): Promise<Omit<ContenderResult, 'peakRssBytes'>> {
  if (args.runtime === 'web') {
    // transformers.js uses a runtime placed here instead of its own onnxruntime-node (its documented hook).
    const ort = await ortWeb();
    instrumentOrt(ort);
    (globalThis as Record<symbol, unknown>)[Symbol.for('onnxruntime')] = ort;
  } else {
    // The same module instance transformers.js imports, so its sessions are timed like ours.
    instrumentOrt(await import('onnxruntime-node'));
  }
  const hf = await import('@huggingface/transformers');
  const { offlineModelId } = await import('../fixtures/transformers-offline');
  const id = offlineModelId(args.modelDir);
  const t0 = performance.now();
  const processor = await hf.AutoProcessor.from_pretrained(id);
  const model = await hf.LlavaForConditionalGeneration.from_pretrained(id, {
    dtype: args.dtype,
    ...(args.runtime === 'node'
      ? { device: 'cpu' as const }
      : { device: 'auto' as const, session_options: { executionProviders: ['wasm'] } }),
  });
  const loadMs = performance.now() - t0;
  const img = benchImage();
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
    // A chat UI streams text as it comes: transformers.js's own TextStreamer (it decodes as it goes, as ours does).
    const streamer = new hf.TextStreamer(tokenizer, {
      skip_prompt: true,
      skip_special_tokens: true,
      callback_function: () => undefined,
      token_callback_function: () => stamps.push(performance.now()),
    });
    const mark = runMark();
    const start = performance.now();
    const inputs = await processor(hfImage, prompt);
    const promptTokens = inputs.input_ids.dims[1] as number;
    const out = (await model.generate({
      ...inputs,
      max_new_tokens: args.newTokens[k] ?? 16,
      do_sample: false,
      streamer,
    })) as Tensor;
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
      ...withSplit(mark),
    });
    const next = QUESTIONS[k + 1];
    if (next) {
      messages.push({ role: 'assistant', content: text }, { role: 'user', content: next });
      await thinkTime();
    }
  }
  await model.dispose();
  return {
    contender: args.contender,
    backend: backendLabel,
    dtype: args.dtype,
    loadMs,
    turns,
    threads: args.threads,
  };
}
