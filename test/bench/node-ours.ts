// Benchmark contender "ours" in Node: our engine on onnxruntime-node or onnxruntime-web (WASM), driven through the
// benchmark conversation. Imported by node-contender.ts only when this contender runs.

import { createEngine } from '../../src/engine/engine';
import type { BackendDescriptor, OrtRuntime } from '../../src/engine/runtime';
import { folderSource } from '../../src/node/folder-source';
import {
  QUESTIONS,
  thinkTime,
  typeAhead,
  withDraft,
  type ContenderResult,
  type TurnTiming,
} from './conversation';
import { args, backendLabel, benchImage, firstTurn, ortWeb, withSplit } from './node-common';
import { instrumentOrt, runMark } from './run-log';

/** Our engine through the whole conversation, reusing its KV cache and image features across turns. */
export async function runOurs(): Promise<Omit<ContenderResult, 'peakRssBytes'>> {
  const ort: OrtRuntime = args.runtime === 'node' ? await import('onnxruntime-node') : await ortWeb();
  instrumentOrt(ort);
  const backend: BackendDescriptor = {
    name: args.runtime === 'node' ? 'cpu' : 'wasm',
    executionProviders: [args.runtime === 'node' ? 'cpu' : 'wasm'],
    keepKvOnDevice: false,
    adapter: null,
    shaderF16: false,
    threads: args.threads,
  };
  const engine = createEngine({
    ort,
    openSource: async () => folderSource(args.modelDir),
    decodeImage: () => Promise.reject(new Error('the benchmark hands raw pixels')),
    selectBackend: async () => backend,
  });
  const t0 = performance.now();
  await engine.load({ kind: 'local', id: 'bench' }, { dtype: args.dtype });
  const loadMs = performance.now() - t0;
  const img = benchImage();
  const messages = firstTurn(img);
  const ahead = args.contender === 'ours, typed ahead';
  /** Hands the engine the conversation with `draft` in place of the last question's words. */
  const prepare = async (draft: string) => {
    await engine.prepare({ messages: withDraft(messages, draft), conversationId: 'bench' });
  };
  const turns: TurnTiming[] = [];
  let lateMs = ahead ? await typeAhead(QUESTIONS[0], prepare, true) : 0;
  for (let k = 0; k < QUESTIONS.length; k++) {
    // Work the engine queued after the last answer (closing the turn ahead) and that the think time did not cover
    // counts toward this turn: forget() of an unknown conversation runs only after that work.
    let queuedMs = lateMs;
    if (k > 0) {
      const t = performance.now();
      await engine.forget('\u0000bench-idle-probe');
      queuedMs += performance.now() - t;
    }
    const mark = runMark();
    const r = await engine.chat({
      messages,
      sampling: { maxNewTokens: args.newTokens[k] ?? 16 },
      conversationId: 'bench',
    });
    turns.push({
      promptTokens: r.usage.promptTokens,
      ttftMs: queuedMs + r.usage.timeToFirstTokenMs,
      newTokens: r.usage.completionTokens,
      decodeTokPerS: r.usage.decodeTokensPerS,
      reusedPromptTokens: r.usage.reusedPromptTokens ?? 0,
      text: r.message.content,
      ...withSplit(mark),
    });
    const next = QUESTIONS[k + 1];
    if (next) {
      messages.push({ role: 'assistant', content: r.message.content }, { role: 'user', content: next });
      if (ahead) lateMs = await typeAhead(next, prepare);
      else await thinkTime();
    }
  }
  await engine.unload();
  return {
    contender: args.contender,
    backend: backendLabel,
    dtype: args.dtype,
    loadMs,
    turns,
    threads: args.threads,
  };
}
