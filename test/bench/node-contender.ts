// Child process of the benchmark: runs ONE contender (our engine or transformers.js) on one Node backend
// (onnxruntime-node, or onnxruntime-web's WASM build in Node) through the three-turn conversation, and prints its
// ContenderResult as a `RESULT {json}` line. One contender a process, so peak RSS belongs to it alone. Each
// contender's code is imported only when it runs (transformers.js must load after its runtime hook is set).
//
//   tsx test/bench/node-contender.ts --contender ours|ahead|tjs --runtime node|web --dtype fp32|q4 --model DIR
//                                    [--threads N] [--new-tokens 96,32,24]

import type { ContenderResult } from './conversation';
import { args, backendLabel } from './node-common';

async function main(): Promise<void> {
  let result: ContenderResult;
  try {
    const r =
      args.contender !== 'transformers.js'
        ? await (await import('./node-ours')).runOurs()
        : await (await import('./node-tjs')).runTransformers();
    result = { ...r, peakRssBytes: process.resourceUsage().maxRSS * 1024 };
  } catch (error) {
    result = {
      contender: args.contender,
      backend: backendLabel,
      dtype: args.dtype,
      loadMs: 0,
      turns: [],
      threads: args.threads,
      peakRssBytes: process.resourceUsage().maxRSS * 1024,
      error: error instanceof Error ? `${error.message}\n${error.stack ?? ''}` : String(error),
    };
  }
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
  // onnxruntime-web's thread pool keeps worker threads alive; the result is out, so leave now.
  process.exit(0);
}

void main();
