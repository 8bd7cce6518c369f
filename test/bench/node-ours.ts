// Benchmark contender "ours" in Node: our engine on onnxruntime-node or onnxruntime-web (WASM), driven through the
// benchmark conversation. Imported by node-contender.ts only when this contender runs.

import type { BackendDescriptor, OrtRuntime } from '../../src/engine/runtime';
import { createNodeEngine } from '../../src/node/node-engine';
import type { ContenderResult } from './conversation';
import { args, nodeResult, benchImage, firstTurn, ortWeb, withSplit } from './node-common';
import { oursConversation } from './ours-conversation';
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
  const engine = createNodeEngine(args.modelDir, { ort, selectBackend: async () => backend });
  const t0 = performance.now();
  await engine.load({ kind: 'local', id: 'bench' }, { dtype: args.dtype });
  const loadMs = performance.now() - t0;
  const turns = await oursConversation(
    firstTurn(benchImage()),
    {
      chat: (messages, maxNewTokens) =>
        engine.chat({ messages, sampling: { maxNewTokens }, conversationId: 'bench' }),
      prepare: async (messages) => {
        await engine.prepare({ messages, conversationId: 'bench' });
      },
      // forget() of an unknown conversation runs only after the work the engine queued (closing the turn ahead).
      queuedMs: async () => {
        const t = performance.now();
        await engine.forget('\u0000bench-idle-probe');
        return performance.now() - t;
      },
      probe: { begin: runMark, end: withSplit },
    },
    args.contender === 'ours, typed ahead',
    args.newTokens,
  );
  await engine.unload();
  return nodeResult(loadMs, turns);
}
