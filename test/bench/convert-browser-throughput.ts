// Benchmark (not part of npm test): in headless Chromium, the app's conversion worker converts a bf16 checkpoint
// served locally like the hub, side by side with a plain fetch of the same safetensors bytes in one run. Prints the
// source MB/s of each and their ratio, tensors/s, the worker's peak JS heap + ArrayBuffer memory (CDP
// Runtime.getHeapUsage on the worker target, sampled), the renderer's peak RSS, and the time from "done" to the
// first answer token of the converted model (WASM).
//
//   npx tsx test/bench/convert-browser-throughput.ts [--preset large] [--layers 22] [--quant q4] [--shards 2]
// (the full `large` preset needs --shards 3 or more: a test server file is read whole, and Node reads < 2 GiB at once)
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { CDPSession, Page } from 'playwright-core';
import { getPreset, type PresetName } from '../../src/modelgen/llava/presets';
import { createRandomWeights } from '../../src/modelgen/llava/random-weights';
import { formatBytes } from '../../src/shared/format-bytes';
import { launchBrowser } from '../e2e/harness/browser';
import { buildApp } from '../e2e/harness/build-app';
import type { ConvertHarness } from '../e2e/pages/convert-e2e-page';
import { folderFiles, removeTempDirs, tempDir, writeLlavaHfCheckpoint } from '../unit/convert-helpers';
import { startStoreServer } from '../unit/helpers/store-server';
import { descendantsRss } from './process-memory';

const REPO = 'bench-org/llava-bf16';

/** Samples the worker's heap (JS objects + ArrayBuffer backing stores) through a non-flat CDP child session. */
async function workerHeapSampler(page: Page): Promise<{ stop(): Promise<number> }> {
  const cdp: CDPSession = await page.context().newCDPSession(page);
  let sessionId: string | null = null;
  let peak = 0;
  let next = 1;
  const pending = new Map<number, (v: unknown) => void>();
  cdp.on('Target.receivedMessageFromTarget', (e: { sessionId: string; message: string }) => {
    const m = JSON.parse(e.message) as { id?: number; result?: unknown };
    if (m.id !== undefined) pending.get(m.id)?.(m.result);
  });
  const ask = (method: string): Promise<unknown> =>
    new Promise((resolve) => {
      const id = next++;
      pending.set(id, resolve);
      void cdp
        .send('Target.sendMessageToTarget', {
          sessionId: sessionId!,
          message: JSON.stringify({ id, method }),
        })
        .catch(() => resolve(null));
      setTimeout(() => resolve(null), 2000);
    });
  let running = true;
  const loop = (async () => {
    while (running) {
      if (sessionId === null) {
        const { targetInfos } = (await cdp.send('Target.getTargets')) as {
          targetInfos: Array<{ targetId: string; type: string; title: string; url: string }>;
        };
        const w = targetInfos.find((t) => t.type === 'worker' && t.url.includes('convert'));
        if (w)
          sessionId = (
            (await cdp.send('Target.attachToTarget', { targetId: w.targetId, flatten: false })) as {
              sessionId: string;
            }
          ).sessionId;
      } else {
        const r = (await ask('Runtime.getHeapUsage')) as {
          usedSize?: number;
          backingStorageSize?: number;
        } | null;
        if (r?.usedSize !== undefined) peak = Math.max(peak, r.usedSize + (r.backingStorageSize ?? 0));
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop.catch(() => undefined);
      await cdp.detach().catch(() => undefined);
      return peak;
    },
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      preset: { type: 'string', default: 'large' },
      layers: { type: 'string' },
      quant: { type: 'string', default: 'q4' },
      shards: { type: 'string', default: '2' },
    },
  });
  const config = getPreset(values.preset as PresetName);
  if (values.layers !== undefined) config.text_config.num_hidden_layers = Number(values.layers);
  const root = tempDir('bench-convert-browser');
  const input = path.join(root, 'ckpt');
  let t = performance.now();
  const weights = createRandomWeights(config, 3);
  let params = 0;
  for (const name of weights.keys()) params += weights.get(name)?.data.length ?? 0;
  const shards = Number(values.shards);
  writeLlavaHfCheckpoint(input, config, weights, 'llava-hf', { dtype: 'BF16', shards });
  weights.clear();
  const files = folderFiles(input);
  const sourceBytes = [...files]
    .filter(([p]) => p.endsWith('.safetensors'))
    .reduce((n, [, b]) => n + b.byteLength, 0);
  console.log(
    `checkpoint: preset ${values.preset}, ${config.text_config.num_hidden_layers} decoder layers, ` +
      `${(params / 1e6).toFixed(0)} M params, bf16, ${formatBytes(sourceBytes)} in ${shards} safetensors files ` +
      `(written in ${((performance.now() - t) / 1000).toFixed(0)} s)`,
  );
  const dist = await buildApp();
  const server = await startStoreServer(files, {
    repo: REPO,
    staticDir: dist,
    isLfs: (p) => p.endsWith('.safetensors'),
  });
  const browser = await launchBrowser({ webgpu: false });
  try {
    const page = await browser.newPage();
    await page.goto(`${server.origin}/test/e2e/pages/convert-e2e.html`);
    await page.waitForFunction(() => 'convertHarness' in globalThis);
    const call = <K extends keyof ConvertHarness>(name: K, ...args: Parameters<ConvertHarness[K]>) =>
      page.evaluate(
        ([method, params]) =>
          (globalThis as unknown as { convertHarness: Record<string, (...a: unknown[]) => unknown> })
            .convertHarness[method]!(...params),
        [name, args] as [string, unknown[]],
      ) as Promise<Awaited<ReturnType<ConvertHarness[K]>>>;

    // Plain fetch of the same safetensors bytes, read and dropped, in the page.
    const names = [...files.keys()].filter((p) => p.endsWith('.safetensors'));
    const fetchSeconds = await page.evaluate(
      async ([endpoint, repo, paths]) => {
        const started = performance.now();
        for (const p of paths) {
          const r = await fetch(`${endpoint}/${repo}/resolve/main/${p}`);
          const reader = r.body!.getReader();
          for (;;) if ((await reader.read()).done) break;
        }
        return (performance.now() - started) / 1000;
      },
      [server.hubEndpoint, REPO, names] as [string, string, string[]],
    );

    server.resetCounts();
    const rssBase = descendantsRss(process.pid);
    let rssPeak = rssBase;
    const rssTimer = setInterval(() => (rssPeak = Math.max(rssPeak, descendantsRss(process.pid))), 200);
    const heap = await workerHeapSampler(page);
    t = performance.now();
    const run = await call('convert', {
      ref: { kind: 'hub', repo: REPO, endpoint: server.hubEndpoint },
      id: 'converted/bench',
      quant: values.quant as 'q4',
    });
    const convertSeconds = (performance.now() - t) / 1000;
    const heapPeak = await heap.stop();
    clearInterval(rssTimer);
    if (run.error !== null) throw new Error(`conversion failed: ${run.error.message}`);
    const fetched = server.bytesSent();
    const tensors = run.plan?.tensors ?? 0;
    t = performance.now();
    const chat = await call('chat', 'converted/bench', 'Describe the scene.', 1, { device: 'wasm' });
    const firstAnswer = (performance.now() - t) / 1000;
    const records = await call('records', 'converted/bench');
    const outBytes = records.reduce((n, r) => n + (r.size ?? 0), 0);

    const mbps = (bytes: number, s: number): number => bytes / 1e6 / s;
    console.log(
      `plain fetch:  ${formatBytes(sourceBytes)} in ${fetchSeconds.toFixed(1)} s = ${mbps(sourceBytes, fetchSeconds).toFixed(1)} MB/s`,
    );
    console.log(
      `conversion:   ${formatBytes(fetched)} fetched in ${convertSeconds.toFixed(1)} s = ` +
        `${mbps(fetched, convertSeconds).toFixed(1)} MB/s (ratio to plain fetch ` +
        `${(mbps(fetched, convertSeconds) / mbps(sourceBytes, fetchSeconds)).toFixed(3)}×), ` +
        `${tensors} tensors = ${(tensors / convertSeconds).toFixed(1)} tensors/s, output ${formatBytes(outBytes)}`,
    );
    console.log(
      `memory:       worker peak heap + ArrayBuffers ${formatBytes(heapPeak)} (largest tensor as float32: ` +
        `${formatBytes(run.plan?.largestTensorBytes ?? 0)}); browser RSS peak ${formatBytes(rssPeak)} ` +
        `(${formatBytes(rssPeak - rssBase)} over its level before the conversion)`,
    );
    console.log(
      `first answer: ${firstAnswer.toFixed(1)} s from "done" to the first token (load from the weight store + ` +
        `1 greedy token, WASM) ${chat.error === null ? '' : `FAILED: ${chat.error}`}`,
    );
  } finally {
    await browser.close();
    await server.close();
    removeTempDirs();
  }
}

await main();
