// Benchmark (not part of npm test): download throughput through the weight store vs a plain streaming fetch of the
// same file in the same run, bytes fetched again after an interrupted download is resumed, and peak memory while
// storing and then loading a ~200 MB file. Runs in Node with fake-indexeddb (an in-memory IndexedDB written in JS),
// so absolute numbers say little about a browser: the ratio and the resume count are what carry over.
// With --browser the same measurements run in headless Chromium (real IndexedDB) on the e2e store test page, memory
// being the summed RSS of Chromium's processes.
// Usage: npx tsx test/bench/store-throughput.ts [sizeMB=200] [chunkMiB=16] [rounds=3] [--browser]
// In the browser, chunkMiB may list several sizes ("4,16,32") to compare them in one run.
import 'fake-indexeddb/auto';
import { execFile } from 'node:child_process';
import { loadavg } from 'node:os';
import { promisify } from 'node:util';
import { ensureCached } from '../../src/store/ensure-cached';
import { openWeightStore } from '../../src/store/idb-weight-store';
import { openStoreSource } from '../../src/store/store-source';
import { seededBytes } from '../unit/helpers/store-fixtures';
import { startStoreServer } from '../unit/helpers/store-server';
import type { StoreBench as Bench } from '../e2e/pages/store-e2e-page';

const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const inBrowser = process.argv.includes('--browser');
const sizeMB = Number(args[0] ?? 200);
const chunkList = (args[1] ?? '16').split(',').map(Number);
const chunkMiB = chunkList[0] ?? 16;
// Several rounds: the machine may be shared, so compare plain and store within a round and look at the spread.
const ROUNDS = Number(args[2] ?? 3);
const SIZE = Math.round(sizeMB * 1e6);
const CHUNK = chunkMiB * 1024 * 1024;
const MiB = 1024 * 1024;

/** Samples memory every 10 ms while `work` runs; returns its result and the peaks above the starting point. */
async function withMemoryPeak<T>(
  work: () => Promise<T>,
): Promise<{ result: T; ms: number; rssPeak: number; heapPeak: number; buffersPeak: number; rss0: number }> {
  globalThis.gc?.();
  const start = process.memoryUsage();
  let rssPeak = start.rss;
  let heapPeak = start.heapUsed;
  let buffersPeak = start.arrayBuffers;
  const timer = setInterval(() => {
    const m = process.memoryUsage();
    rssPeak = Math.max(rssPeak, m.rss);
    heapPeak = Math.max(heapPeak, m.heapUsed);
    buffersPeak = Math.max(buffersPeak, m.arrayBuffers);
  }, 10);
  const t0 = performance.now();
  const result = await work();
  const ms = performance.now() - t0;
  clearInterval(timer);
  const m = process.memoryUsage();
  return {
    result,
    ms,
    rss0: start.rss,
    rssPeak: Math.max(rssPeak, m.rss) - start.rss,
    heapPeak: Math.max(heapPeak, m.heapUsed) - start.heapUsed,
    buffersPeak: Math.max(buffersPeak, m.arrayBuffers) - start.arrayBuffers,
  };
}

const mb = (bytes: number): string => `${(bytes / MiB).toFixed(1)} MiB`;
const rate = (bytes: number, ms: number): string => `${(bytes / MiB / (ms / 1000)).toFixed(1)} MiB/s`;

async function plainFetch(url: string): Promise<number> {
  const response = await fetch(url);
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  let n = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return n;
    n += value.byteLength;
  }
}

async function main(): Promise<void> {
  const files = new Map<string, Uint8Array>([
    ['config.json', new TextEncoder().encode('{"model_type":"llava"}')],
    ['onnx/vision_encoder.onnx', seededBytes(1000, 1)],
    ['onnx/embed_tokens.onnx', seededBytes(1000, 2)],
    ['onnx/decoder_model_merged.onnx', seededBytes(SIZE, 3)],
  ]);
  const server = await startStoreServer(files, { name: 'bench' });
  const big = `${server.folderUrl}onnx/decoder_model_merged.onnx`;
  const ref = { kind: 'url', baseUrl: server.folderUrl, id: 'bench' } as const;
  const dtype = 'fp32' as const;
  console.log(
    `file: ${mb(SIZE)}, chunk ${chunkMiB} MiB, Node ${process.version}, fake-indexeddb (in-memory)`,
  );

  // Warm up both paths on a small download so JIT and wasm start-up are not timed.
  await plainFetch(`${server.folderUrl}onnx/vision_encoder.onnx`);

  const rows: string[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const plain = await withMemoryPeak(() => plainFetch(big));
    const store = openWeightStore({ dbName: `bench-${round}` });
    server.resetCounts();
    const stored = await withMemoryPeak(() =>
      ensureCached(ref, { store, dtype, chunkSize: CHUNK, storage: null }),
    );
    const loaded = await withMemoryPeak(() =>
      openStoreSource('bench', { store }).read('onnx/decoder_model_merged.onnx'),
    );
    if (loaded.result.byteLength !== SIZE) throw new Error('read back the wrong size');
    rows.push(
      `round ${round + 1}: plain fetch ${rate(SIZE, plain.ms)} | through store ${rate(SIZE, stored.ms)} ` +
        `(download+sha256+IndexedDB) | ratio store/plain ${(plain.ms / stored.ms).toFixed(2)} | load from store ${rate(SIZE, loaded.ms)}`,
    );
    rows.push(
      `         peak above start: storing rss +${mb(stored.rssPeak)}, heap +${mb(stored.heapPeak)}, arrayBuffers +${mb(stored.buffersPeak)}; ` +
        `loading rss +${mb(loaded.rssPeak)}, arrayBuffers +${mb(loaded.buffersPeak)} (the ${mb(SIZE)} result buffer included)`,
    );
    await store.deleteAll();
  }
  console.log(rows.join('\n'));

  // Resume: drop the connection mid-file, then resume; count the bytes the server sends twice.
  const store = openWeightStore({ dbName: 'bench-resume' });
  server.resetCounts();
  const dropAt = Math.round(SIZE * 0.55);
  server.faults.push({
    path: 'onnx/decoder_model_merged.onnx',
    fault: { kind: 'drop', at: dropAt },
    times: 1,
  });
  await ensureCached(ref, { store, dtype, chunkSize: CHUNK, storage: null, retries: 0 }).catch(
    () => undefined,
  );
  const partial = (await store.getFile('bench', 'onnx/decoder_model_merged.onnx'))?.storedBytes ?? 0;
  await ensureCached(ref, { store, dtype, chunkSize: CHUNK, storage: null });
  const sent = server.bytesSent('onnx/decoder_model_merged.onnx');
  console.log(
    `resume: dropped at ${mb(dropAt)}, ${mb(partial)} was stored; server sent ${mb(sent)} in all for a ${mb(SIZE)} file ` +
      `→ re-fetched ${mb(sent - SIZE)} (${sent - SIZE} bytes; bound: one chunk = ${mb(CHUNK)})`,
  );
  await server.close();
}

/** Summed RSS (bytes) of every process descended from this one: Chromium's browser, renderer, GPU and utility processes. */
async function childrenRss(): Promise<number> {
  // Asynchronous on purpose: a blocking `ps` would stall the test server living in this same process.
  const { stdout } = await promisify(execFile)('ps', ['-e', '-o', 'pid=,ppid=,rss=']);
  const rows = stdout.trim().split('\n');
  const procs = rows.map((r) => r.trim().split(/\s+/).map(Number) as [number, number, number]);
  const tree = new Set([process.pid]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, ppid] of procs) {
      if (tree.has(ppid) && !tree.has(pid)) {
        tree.add(pid);
        grew = true;
      }
    }
  }
  return procs
    .filter(([pid]) => pid !== process.pid && tree.has(pid))
    .reduce((n, [, , rss]) => n + rss * 1024, 0);
}

async function browserMain(): Promise<void> {
  const { buildApp } = await import('../e2e/harness/build-app');
  const { launchBrowser } = await import('../e2e/harness/browser');
  const files = new Map<string, Uint8Array>([
    ['config.json', new TextEncoder().encode('{"model_type":"llava"}')],
    ['onnx/vision_encoder.onnx', seededBytes(1000, 1)],
    ['onnx/embed_tokens.onnx', seededBytes(1000, 2)],
    ['onnx/decoder_model_merged.onnx', seededBytes(SIZE, 3)],
  ]);
  const server = await startStoreServer(files, { name: 'bench', staticDir: await buildApp() });
  const browser = await launchBrowser({ webgpu: false });
  const page = await browser.newPage();
  await page.goto(`${server.origin}/test/e2e/pages/store-e2e.html`);
  await page.waitForFunction(() => 'storeBench' in globalThis);

  const run = <K extends keyof Bench>(
    name: K,
    ...params: Parameters<Bench[K]>
  ): Promise<Awaited<ReturnType<Bench[K]>>> =>
    page.evaluate(
      ([method, p]) =>
        (globalThis as unknown as { storeBench: Record<string, (...a: unknown[]) => unknown> }).storeBench[
          method
        ]!(...p),
      [name, params] as [string, unknown[]],
    ) as never;
  const peakWhile = async <T>(work: () => Promise<T>): Promise<{ result: T; peak: number; base: number }> => {
    const base = await childrenRss();
    let peak = base;
    let running = true;
    const sampler = (async () => {
      while (running) {
        peak = Math.max(peak, await childrenRss());
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const result = await work();
    running = false;
    await sampler;
    return { result, peak: Math.max(peak, await childrenRss()) - base, base };
  };
  // A new id each time: every run downloads from scratch into the same (real) IndexedDB.
  const refNamed = (id: string) => ({ kind: 'url', baseUrl: '/models/bench/', id }) as const;
  const big = `/models/bench/onnx/decoder_model_merged.onnx`;
  console.log(
    `browser: headless Chromium, real IndexedDB; file ${mb(SIZE)}, chunks ${chunkList.join(', ')} MiB, ${ROUNDS} rounds each`,
  );
  await run('plainFetch', '/models/bench/onnx/vision_encoder.onnx');
  if (process.argv.includes('--stages')) {
    for (const chunk of chunkList) {
      const plain = await run('plainFetch', big);
      const stages = await run('stages', big, chunk * MiB);
      console.log(
        `stages, chunk ${chunk} MiB (ms for ${mb(SIZE)}): plain ${plain.ms.toFixed(0)}, ` +
          Object.entries(stages)
            .map(([k, v]) => `${k} ${v.toFixed(0)}`)
            .join(', '),
      );
    }
  }
  const summary: string[] = [];
  const load = (): string => loadavg()[0]!.toFixed(1);
  const spread = (values: number[]): string => {
    const sorted = [...values].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
    return `best ${(sorted.at(-1) ?? 0).toFixed(2)}, median ${median.toFixed(2)}, worst ${(sorted[0] ?? 0).toFixed(2)}`;
  };
  let n = 0;
  for (const chunk of chunkList) {
    const ratios: number[] = [];
    const opfsRatios: number[] = [];
    const peaks: number[] = [];
    const loads: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const id = `bench-${n++}`;
      loads.push(load());
      // Alternate which goes first, so that a machine getting busier or quieter does not favour one side.
      const plainFirst = round % 2 === 0;
      const plainA = plainFirst ? await run('plainFetch', big) : null;
      const stored = await peakWhile(() => run('store', refNamed(id), chunk * MiB, 4));
      if (!stored.result.ok) throw new Error(`store download failed: ${JSON.stringify(stored.result.error)}`);
      // The alternative measured beside it: hash + write to an OPFS file in one worker (not what the app uses).
      const opfs = await peakWhile(() => run('opfsDownload', big, chunk * MiB));
      const plain = plainA ?? (await run('plainFetch', big));
      const loaded = await peakWhile(() => run('read', id, 'onnx/decoder_model_merged.onnx'));
      const ratio = plain.ms / stored.result.ms;
      ratios.push(ratio);
      opfsRatios.push(plain.ms / opfs.result.ms);
      peaks.push(stored.peak);
      console.log(
        `chunk ${chunk} MiB round ${round + 1} (load ${loads.at(-1)}): plain fetch ${rate(SIZE, plain.ms)} | through store ${rate(SIZE, stored.result.ms)} | ratio store/plain ` +
          `${ratio.toFixed(2)} | OPFS alternative ${rate(SIZE, opfs.result.ms)} (ratio ${(plain.ms / opfs.result.ms).toFixed(2)}) | load from store ${rate(SIZE, loaded.result.ms)}\n` +
          `         Chromium RSS (all processes) peak above start: storing +${mb(stored.peak)}, OPFS alternative +${mb(opfs.peak)}, loading +${mb(loaded.peak)} (from ${mb(stored.base)})`,
      );
      await run('remove', id);
    }
    summary.push(
      `store-throughput, headless Chromium, ${mb(SIZE)} file, ${chunk} MiB chunks, ${ratios.length} rounds, load average ${loads.join('/')}: ` +
        `store/plain ${spread(ratios)}; OPFS alternative/plain ${spread(opfsRatios)}; peak Chromium RSS while storing +${mb(Math.max(...peaks))}`,
    );
  }
  console.log(`summary (one line per chunk size):\n${summary.join('\n')}`);
  server.resetCounts();
  const dropAt = Math.round(SIZE * 0.55);
  server.faults.push({
    path: 'onnx/decoder_model_merged.onnx',
    fault: { kind: 'drop', at: dropAt },
    times: 1,
  });
  await run('store', refNamed('bench-resume'), chunkMiB * MiB, 0);
  const partial = await run('partialBytes', 'bench-resume');
  await run('store', refNamed('bench-resume'), chunkMiB * MiB, 4);
  const sent = server.bytesSent('onnx/decoder_model_merged.onnx');
  console.log(
    `resume: dropped at ${mb(dropAt)}, ${mb(partial)} stored; server sent ${mb(sent)} in all → re-fetched ${mb(sent - SIZE)} (${sent - SIZE} bytes; bound one chunk = ${mb(chunkMiB * MiB)})`,
  );
  await run('remove', 'bench-resume');
  await browser.close();
  await server.close();
}

(inBrowser ? browserMain() : main()).catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
