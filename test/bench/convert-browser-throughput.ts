// Benchmark (not part of npm test): in headless Chromium, the app's conversion worker converts a bf16 checkpoint
// served locally like the hub, side by side with a plain fetch of the same safetensors bytes in one run. Prints the
// source MB/s of each and their ratio, tensors/s, the worker's peak JS heap + ArrayBuffer memory (CDP
// Runtime.getHeapUsage on the worker target, sampled) beside the bound the data pass promises (the heaviest tensor
// held whole as float32 + its outputs + one row block of a row-streamed tensor + fixed stream buffers) and their ratio, the renderer's peak RSS, and the time from "done" to the
// first answer token of the converted model (WASM). Both sides' CPU (every Chromium process, and this process, which
// serves the files) is printed in core-seconds per source GiB, with how busy the machine's cores were, and what a
// conversion at 0.8× of the plain rate would need in cores; --threads splits it by thread (conversion worker, hash
// workers, page main thread, network service…); --rate runs the pair again on links paced at those MB/s.
//
//   npx tsx test/bench/convert-browser-throughput.ts [--preset large] [--layers 22] [--quant q4] [--shards 2]
//     [--profile] [--no-chat] [--threads] [--rate 25,50,75]
// (the full `large` preset needs --shards 3 or more: a test server file is read whole, and Node reads < 2 GiB at once)
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { CDPSession, Page } from 'playwright-core';
import { boundOf, STREAM_BUFFER_BYTES, type HeaviestTensor } from '../../src/modelgen/convert/data-pass';
import { getPreset, type PresetName } from '../../src/modelgen/llava/presets';
import { createRandomWeights } from '../../src/modelgen/llava/random-weights';
import { formatBytes } from '../../src/shared/format-bytes';
import { launchBrowser } from '../e2e/harness/browser';
import { buildApp } from '../e2e/harness/build-app';
import { harnessCall, openConvertHarness } from '../e2e/harness/convert-harness';
import { folderFiles, removeTempDirs, tempDir, writeLlavaHfCheckpoint } from '../unit/convert-helpers';
import { startStoreServer } from '../unit/helpers/store-server';
import {
  cpuLines,
  GiB,
  linkTable,
  splitCpu,
  splitText,
  WORKER_THREAD,
  type LinkResult,
} from './convert-cpu-report';
import { measureWork } from './process-cpu';

const REPO = 'bench-org/llava-bf16';
/** The issue's target: conversion at this fraction of a plain fetch of the same bytes. */
const TARGET = 0.8;

interface CpuProfile {
  nodes: Array<{
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
    children?: number[];
  }>;
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Prints the profile's top self-time functions in ms per source MB (and idle, GC, program as V8 names them). */
function printProfile(p: CpuProfile, sourceMB: number): void {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  for (let i = 0; i < p.samples.length; i++) {
    const n = byId.get(p.samples[i]!);
    if (n === undefined) continue;
    const f = n.callFrame;
    const key = `${f.functionName || '(anonymous)'} ${f.url.split('/').pop() ?? ''}:${f.lineNumber + 1}:${f.columnNumber + 1}`;
    // A sample's time is the delta to the next sample.
    self.set(key, (self.get(key) ?? 0) + (p.timeDeltas[i + 1] ?? 0) / 1000);
  }
  const total = (p.endTime - p.startTime) / 1000;
  console.log(
    `worker profile: ${(total / 1000).toFixed(1)} s = ${(total / sourceMB).toFixed(1)} ms/MB; top self time:`,
  );
  for (const [k, ms] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 30))
    console.log(
      `  ${(ms / sourceMB).toFixed(2).padStart(7)} ms/MB  ${((100 * ms) / total).toFixed(1).padStart(5)}%  ${k}`,
    );
}

/**
 * The worker's peak beside the bound the data pass promises: the heaviest tensor it held whole (as float32) + what
 * its fills computed, the largest row block of a tensor streamed in rows + its outputs, and the fixed stream
 * buffers (pieces in hand, source-hash batches, the store's copy). The worker's own heap (code, the graphs laid out
 * from shapes, the journal) and garbage not yet collected come on top: the ratio shows how much. The issue's
 * yardstick, the largest tensor's source bytes + its outputs, is printed beside it.
 */
function memoryLines(heaviest: HeaviestTensor | null, peak: HeapPeak): string {
  const h: HeaviestTensor = heaviest ?? {
    tensor: null,
    tensorBytes: 0,
    outputBytes: 0,
    rowBlockBytes: 0,
    bufferBytes: 0,
    largest: { tensor: null, sourceBytes: 0, outputBytes: 0 },
  };
  const bound = boundOf(h);
  const yardstick = h.largest.sourceBytes + h.largest.outputBytes;
  return (
    `  memory bound: ${formatBytes(bound)} = heaviest tensor held whole ${h.tensor ?? '(none)'} as float32 ` +
    `${formatBytes(h.tensorBytes)} + its outputs ${formatBytes(h.outputBytes)} + largest row block and its ` +
    `outputs ${formatBytes(h.rowBlockBytes)} + buffers ${formatBytes(h.bufferBytes)} (stream pieces ` +
    `${formatBytes(STREAM_BUFFER_BYTES)}, the rest the store's copy)\n` +
    `  yardstick:    largest tensor ${h.largest.tensor ?? '(none)'}: source ${formatBytes(h.largest.sourceBytes)} + ` +
    `its outputs ${formatBytes(h.largest.outputBytes)} = ${formatBytes(yardstick)}; the bound is ` +
    `${(bound / Math.max(yardstick, 1)).toFixed(2)}× that\n` +
    `  memory:       worker peak heap + ArrayBuffers ${formatBytes(peak.total)} = ${(peak.total / bound).toFixed(2)}× ` +
    `the bound, ${(peak.total / Math.max(yardstick, 1)).toFixed(2)}× the yardstick (at the peak: ArrayBuffers ` +
    `${formatBytes(peak.buffers)}, JS objects ${formatBytes(peak.total - peak.buffers)})`
  );
}

/** The worker's highest heap sample: JS objects + ArrayBuffer backing stores, and the latter alone. */
interface HeapPeak {
  total: number;
  buffers: number;
}

/** Samples the worker's heap (JS objects + ArrayBuffer backing stores) through a non-flat CDP child session. */
async function workerHeapSampler(
  page: Page,
  profile: boolean,
): Promise<{ stop(): Promise<{ peak: HeapPeak; profile: CpuProfile | null }> }> {
  const cdp: CDPSession = await page.context().newCDPSession(page);
  let sessionId: string | null = null;
  const peak: HeapPeak = { total: 0, buffers: 0 };
  let next = 1;
  const pending = new Map<number, (v: unknown) => void>();
  cdp.on('Target.receivedMessageFromTarget', (e: { sessionId: string; message: string }) => {
    const m = JSON.parse(e.message) as { id?: number; result?: unknown };
    if (m.id !== undefined) pending.get(m.id)?.(m.result);
  });
  const ask = (method: string, params: object = {}, timeoutMs = 2000): Promise<unknown> =>
    new Promise((resolve) => {
      const id = next++;
      pending.set(id, resolve);
      void cdp
        .send('Target.sendMessageToTarget', {
          sessionId: sessionId!,
          message: JSON.stringify({ id, method, params }),
        })
        .catch(() => resolve(null));
      setTimeout(() => resolve(null), timeoutMs);
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
        if (sessionId !== null && profile) {
          await ask('Profiler.enable');
          await ask('Profiler.setSamplingInterval', { interval: 500 });
          await ask('Profiler.start');
        }
      } else {
        const r = (await ask('Runtime.getHeapUsage')) as {
          usedSize?: number;
          backingStorageSize?: number;
        } | null;
        const total = (r?.usedSize ?? 0) + (r?.backingStorageSize ?? 0);
        if (total > peak.total) Object.assign(peak, { total, buffers: r?.backingStorageSize ?? 0 });
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop.catch(() => undefined);
      const result =
        profile && sessionId !== null
          ? ((await ask('Profiler.stop', {}, 60_000)) as { profile?: CpuProfile } | null)
          : null;
      await cdp.detach().catch(() => undefined);
      return { peak, profile: result?.profile ?? null };
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
      // Writes nothing: prints the conversion worker's top self-time functions per source MB (V8 sampling profile).
      profile: { type: 'boolean', default: false },
      chat: { type: 'boolean', default: true },
      // Link speeds (MB/s) to pace the server at, each run after the unthrottled one: "25,50,75".
      rate: { type: 'string', default: '' },
      // CPU by thread (conversion worker, hash workers, page main, network service…), not only by process.
      threads: { type: 'boolean', default: false },
    },
    allowNegative: true,
  });
  const rates = values.rate.split(',').filter(Boolean).map(Number);
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
    await openConvertHarness(page, server.origin);
    const call = harnessCall(() => page);

    // Plain fetch of the same safetensors bytes, read and dropped, in the page.
    const names = [...files.keys()].filter((p) => p.endsWith('.safetensors'));
    const plainFetch = () =>
      page.evaluate(
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
    const cpuOptions = { threads: values.threads, threadsByStart: WORKER_THREAD };
    const mbps = (bytes: number, s: number): number => bytes / 1e6 / s;
    const load = (): string =>
      loadavg()
        .map((x) => x.toFixed(2))
        .join(' ');
    const machineCores = cpus().length;
    // What sampling /proc costs this process per second, measured idle: taken out of the server's share below.
    let samplerPerS = 0;
    {
      const idle = await measureWork(() => new Promise((r) => setTimeout(r, 5000)), cpuOptions);
      samplerPerS = (idle.cost.selfCpuS / idle.cost.ms) * 1000;
      console.log(
        `sampler cost (idle 5 s): this process ${samplerPerS.toFixed(3)} core-s/s, ` +
          `browser idle ${((idle.cost.childCpuS / idle.cost.ms) * 1000).toFixed(3)} core-s/s ` +
          `(${splitText(splitCpu(idle.cost, (GiB * idle.cost.ms) / 1000), 0.005)}); ${machineCores} cores`,
      );
    }
    /** One line per link speed: the plain fetch and the conversion side by side. */
    const links: LinkResult[] = [];
    for (const [run, pace] of [null, ...rates].entries()) {
      server.pace = pace === null ? null : pace * 1e6;
      const link = pace === null ? 'unthrottled' : `paced ${pace} MB/s`;
      const loadBefore = load();
      const plain = await measureWork(plainFetch, cpuOptions);
      const fetchSeconds = plain.result;

      server.resetCounts();
      const id = `converted/bench-${run}`;
      const profiled = values.profile && run === 0;
      // The harness terminates the worker when it reports done, which would lose its profile: keep it alive.
      if (profiled)
        await page.evaluate(() => {
          Worker.prototype.terminate = () => undefined;
        });
      const heap = await workerHeapSampler(page, profiled);
      const converted = await measureWork(
        () =>
          call('convert', {
            ref: { kind: 'hub', repo: REPO, endpoint: server.hubEndpoint },
            id,
            quant: values.quant as 'q4',
          }),
        cpuOptions,
      );
      const convertSeconds = converted.cost.ms / 1000;
      const { peak: heapPeak, profile } = await heap.stop();
      const conv = converted.result;
      if (conv.error !== null) throw new Error(`conversion failed: ${conv.error.message}`);
      const fetched = server.bytesSent();
      const tensors = conv.plan?.tensors ?? 0;
      console.log(
        `${link} (load average ${loadBefore} → ${load()}):\n` +
          `  plain fetch:  ${formatBytes(sourceBytes)} in ${fetchSeconds.toFixed(1)} s = ${mbps(sourceBytes, fetchSeconds).toFixed(1)} MB/s\n` +
          `  conversion:   ${formatBytes(fetched)} fetched in ${convertSeconds.toFixed(1)} s = ` +
          `${mbps(fetched, convertSeconds).toFixed(1)} MB/s (ratio to plain fetch ` +
          `${(mbps(fetched, convertSeconds) / mbps(sourceBytes, fetchSeconds)).toFixed(3)}×), ` +
          `${tensors} tensors = ${(tensors / convertSeconds).toFixed(1)} tensors/s`,
      );
      links.push({
        link,
        load: `${loadBefore.split(' ')[0]}–${load().split(' ')[0]}`,
        plainMBps: mbps(sourceBytes, fetchSeconds),
        conversionMBps: mbps(fetched, convertSeconds),
        plain: splitCpu(plain.cost, sourceBytes, samplerPerS),
        conversion: splitCpu(converted.cost, fetched, samplerPerS),
        plainBusy: plain.cost.machineBusyCores,
        conversionBusy: converted.cost.machineBusyCores,
      });
      console.log(cpuLines(links.at(-1)!, machineCores));

      if (run === 0) {
        t = performance.now();
        const chat = values.chat
          ? await call('chat', id, 'Describe the scene.', 1, { device: 'wasm' })
          : null;
        const firstAnswer = (performance.now() - t) / 1000;
        const records = await call('records', id);
        const outBytes = records.reduce((n, r) => n + (r.size ?? 0), 0);
        console.log(
          `  output:       ${formatBytes(outBytes)}\n` +
            `${memoryLines(conv.heaviest, heapPeak)}; browser RSS peak ` +
            `${formatBytes(converted.cost.rssBase + converted.cost.rssPeak)} ` +
            `(${formatBytes(converted.cost.rssPeak)} over its level before the conversion)`,
        );
        console.log(
          `  first answer: ${firstAnswer.toFixed(1)} s from "done" to the first token (load from the weight store + ` +
            `1 greedy token, WASM) ${chat === null ? 'skipped (--no-chat)' : chat.error === null ? '' : `FAILED: ${chat.error}`}`,
        );
        if (profile !== null) printProfile(profile, fetched / 1e6);
      } else console.log(memoryLines(conv.heaviest, heapPeak));
      await call('remove', id);
    }
    server.pace = null;
    console.log(linkTable(links, TARGET, machineCores));
    console.log(`load average: ${load()}`);
  } finally {
    await browser.close();
    await server.close();
    removeTempDirs();
  }
}

await main();
