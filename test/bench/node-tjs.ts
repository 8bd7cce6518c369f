// Benchmark contender "transformers.js" in Node: LlavaForConditionalGeneration.generate (AutoProcessor, offline) on
// onnxruntime-node, or on onnxruntime-web's WASM build handed over through transformers.js's global runtime hook.
// Imported by node-contender.ts only when this contender runs, so transformers.js loads after the hook is set.

import type { ContenderResult } from './conversation';
import { args, nodeResult, benchImage, ortWeb, withSplit } from './node-common';
import { instrumentOrt, runMark } from './run-log';
import { tjsConversation } from './tjs-conversation';

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
  const turns = await tjsConversation(hf, processor, model, benchImage(), args.newTokens, {
    begin: runMark,
    end: withSplit,
  });
  await model.dispose();
  return nodeResult(loadMs, turns);
}
