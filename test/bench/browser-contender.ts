// Child process of the benchmark: runs ONE contender in headless Chromium on one backend (WASM, or WebGPU on the
// software adapter) through the three-turn conversation and prints a `RESULT {json}` line. Ours runs in the app's
// engine worker through the e2e harness (test/e2e/harness); transformers.js in the benchmark's own page. Peak RSS is
// the browser's whole process tree, sampled from /proc.
//
//   tsx test/bench/browser-contender.ts --contender ours|ahead|tjs --device wasm|webgpu --dtype q4 --model DIR
//                                       [--new-tokens 96,32,24]

import { createRequire } from 'node:module';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { openEnginePage } from '../e2e/harness/engine-page';
import { launchBrowser } from '../e2e/harness/browser';
import { startStaticServer } from '../e2e/harness/static-server';
import type { TestChatRequest, TestMessage } from '../e2e/pages/engine-page';
import type { Dtype } from '../../src/shared/protocol';
import { buildBenchPages } from './browser-build';
import {
  benchImagePixels,
  contenderName,
  DEFAULT_NEW_TOKENS,
  IMAGE_HEIGHT,
  IMAGE_WIDTH,
  QUESTIONS,
  type ContenderResult,
} from './conversation';
import type { TjsOutcome, TjsRun } from './pages/tjs-bench-page';
import { oursConversation } from './ours-conversation';
import { watchPeakRss } from './process-memory';

const { values } = parseArgs({
  options: {
    contender: { type: 'string' },
    device: { type: 'string', default: 'wasm' },
    dtype: { type: 'string', default: 'q4' },
    model: { type: 'string' },
    'new-tokens': { type: 'string', default: DEFAULT_NEW_TOKENS.join(',') },
  },
  strict: true,
});
const contender = contenderName(values.contender);
const device = values.device === 'webgpu' ? 'webgpu' : 'wasm';
const dtype = values.dtype as Dtype;
const modelDir = path.resolve(values.model ?? '');
const newTokens = values['new-tokens'].split(',').map(Number);
const backend = `chromium ${device === 'webgpu' ? 'webgpu (software)' : 'wasm'} ${dtype}`;
const MODEL_PREFIX = '/models/bench/';

type Measured = Omit<ContenderResult, 'peakRssBytes'>;

async function runOurs(): Promise<Measured> {
  const env = await openEnginePage({
    mounts: [{ prefix: MODEL_PREFIX, dir: modelDir }],
    webgpu: device === 'webgpu',
  });
  try {
    const t0 = performance.now();
    const load = await env.call('load', { kind: 'url', baseUrl: MODEL_PREFIX }, { device, dtype });
    const loadMs = performance.now() - t0;
    if (load.outcome.ok && load.outcome.value.backend !== device) {
      throw new Error(`asked for ${device} but the engine loaded on ${String(load.outcome.value.backend)}`);
    }
    if (!load.outcome.ok)
      throw new Error(`load failed: ${JSON.stringify(load.outcome.error)}\n${env.browser.logs.join('\n')}`);
    // Handed over once: a request carrying 1.2 M numbers through page.evaluate takes seconds, which the timed
    // work-ahead calls would be charged for.
    const rgba = Array.from(benchImagePixels());
    await env.call('storeImage', 'bench', { as: 'raw', width: IMAGE_WIDTH, height: IMAGE_HEIGHT, rgba });
    const messages: TestMessage[] = [
      {
        role: 'user',
        content: [
          { type: 'image', image: { as: 'stored', key: 'bench' } },
          { type: 'text', text: QUESTIONS[0] },
        ],
      },
    ];
    const turns = await oursConversation(
      messages,
      {
        chat: async (history, maxNewTokens) => {
          const request: TestChatRequest = {
            messages: history,
            sampling: { maxNewTokens },
            conversationId: 'bench',
          };
          const run = await env.call('chat', request);
          if (!run.outcome.ok) throw new Error(`chat failed: ${JSON.stringify(run.outcome.error)}`);
          return run.outcome.value;
        },
        prepare: async (history) => {
          const run = await env.call('prepare', { messages: history, conversationId: 'bench' });
          if (!run.ok) throw new Error(`prepare failed: ${JSON.stringify(run.error)}`);
        },
      },
      contender === 'ours, typed ahead',
      newTokens,
    );
    const status = await env.call('status');
    const threads = status.ok ? status.value.threads : 0;
    return { contender, backend, dtype, loadMs, turns, threads };
  } finally {
    await env.close();
  }
}

async function runTransformers(): Promise<Measured> {
  const dist = await buildBenchPages();
  const ortDist = path.dirname(createRequire(import.meta.url).resolve('onnxruntime-web'));
  const server = await startStaticServer([
    { prefix: MODEL_PREFIX, dir: modelDir },
    { prefix: '/ort/', dir: ortDist },
    { prefix: '/', dir: dist },
  ]);
  const browser = await launchBrowser({ webgpu: device === 'webgpu' });
  try {
    const page = await browser.newPage();
    await page.goto(`${server.origin}/test/bench/pages/tjs-bench.html`);
    await page.waitForFunction(() => 'bench' in globalThis);
    const config: TjsRun = { modelId: 'bench', dtype: dtype === 'q4' ? 'q4' : 'fp32', device, newTokens };
    const outcome = await page
      .evaluate(
        (c) => (globalThis as unknown as { bench: { run(c: TjsRun): Promise<TjsOutcome> } }).bench.run(c),
        config,
      )
      .catch((error: unknown) => {
        throw new Error(`${String(error)}\n${browser.logs.slice(-20).join('\n')}`);
      });
    if (browser.blockedRequests.length > 0)
      throw new Error(`blocked requests: ${browser.blockedRequests.join(', ')}`);
    return {
      contender,
      backend,
      dtype,
      loadMs: outcome.loadMs,
      turns: outcome.turns,
      threads: outcome.threads,
    };
  } finally {
    await browser.close();
    await server.close();
  }
}

async function main(): Promise<void> {
  const memory = watchPeakRss();
  let result: ContenderResult;
  try {
    const r = contender === 'transformers.js' ? await runTransformers() : await runOurs();
    result = { ...r, peakRssBytes: memory.stop() };
  } catch (error) {
    result = {
      contender,
      backend,
      dtype,
      loadMs: 0,
      turns: [],
      threads: 0,
      peakRssBytes: memory.stop(),
      error: error instanceof Error ? `${error.message}\n${error.stack ?? ''}` : String(error),
    };
  }
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
  process.exit(0);
}

void main();
