// Benchmark (not part of npm test): download throughput through the weight store vs a plain streaming fetch of the
// same file in the same run, bytes fetched again after an interrupted download is resumed, and peak memory while
// storing and then loading a ~200 MB file. Runs in Node with fake-indexeddb (an in-memory IndexedDB written in JS),
// so absolute numbers say little about a browser: the ratio and the resume count are what carry over.
// With --browser the same measurements run in headless Chromium (real IndexedDB) on the e2e store test page, memory
// being the summed RSS of Chromium's processes.
// In the browser every round also records CPU time (every Chromium process, and this process, which serves the file)
// as core-seconds per GiB for each path, and how busy the machine's cores were: the store's ceiling on this machine
// is a ratio of CPU costs once the cores are saturated. --rate paces the server like a link of that speed.
// Usage: npx tsx test/bench/store-throughput.ts [sizeMB=200] [chunkMiB=16] [rounds=3] [--browser]
//          [--rate 25,50,100 (MB/s; each pace is run besides unthrottled)] [--opfs] [--stages] [--readers] [--threads]
// In the browser, chunkMiB may list several sizes ("4,16,32") to compare them in one run; --opfs adds the OPFS
// alternative to every round, --stages times each stage of storing on its own first, --readers compares the CPU cost
// of reading the body with the default reader and with a BYOB reader, --threads breaks CPU down by thread.
import 'fake-indexeddb/auto';
import { cpus, loadavg } from 'node:os';
import { ensureCached } from '../../src/store/ensure-cached';
import { openWeightStore } from '../../src/store/idb-weight-store';
import { openStoreSource } from '../../src/store/store-source';
import { seededBytes } from '../unit/helpers/store-fixtures';
import { startStoreServer } from '../unit/helpers/store-server';
import type { StoreBench as Bench } from '../e2e/pages/store-e2e-page';
import { measureWork, type WorkCost } from './process-cpu';

const argv = process.argv.slice(2);
const rateAt = argv.findIndex((a) => a === '--rate' || a.startsWith('--rate='));
const rateArg =
  rateAt < 0 ? '' : argv[rateAt]!.includes('=') ? argv[rateAt]!.split('=')[1]! : (argv[rateAt + 1] ?? '');
/** Link speeds to pace the server at, MB/s (1e6 bytes); null = as fast as it goes. */
const paces: (number | null)[] = [null, ...rateArg.split(',').filter(Boolean).map(Number)];
const args = argv.filter(
  (a, i) => !a.startsWith('--') && !(rateAt >= 0 && !argv[rateAt]!.includes('=') && i === rateAt + 1),
);
const inBrowser = process.argv.includes('--browser');
const withOpfs = process.argv.includes('--opfs');
/** Compare the body readers on a plain fetch: default vs BYOB into one reused buffer. */
const withReaders = process.argv.includes('--readers');
/** Also break the browser's CPU down by thread (read at each round's start and end). */
const threads = process.argv.includes('--threads');
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
  const sorted = (values: number[]): number[] => [...values].sort((x, y) => x - y);
  const median = (values: number[]): number => sorted(values)[Math.floor(values.length / 2)] ?? 0;
  const spread = (values: number[]): string =>
    `best ${(sorted(values).at(-1) ?? 0).toFixed(2)}, median ${median(values).toFixed(2)}, worst ${(sorted(values)[0] ?? 0).toFixed(2)}`;
  const GiB = 1024 * MiB;
  const cores = cpus().length;
  /** CPU seconds per GiB moved: the browser's processes, this process (the server) and both together. */
  const perGiB = (c: WorkCost) => ({
    browser: c.childCpuS / (SIZE / GiB),
    server: c.selfCpuS / (SIZE / GiB),
    total: (c.childCpuS + c.selfCpuS) / (SIZE / GiB),
  });
  const cpuText = (c: WorkCost): string => {
    const g = perGiB(c);
    const kinds = Object.entries(c.childCpuByKind)
      .filter(([, v]) => v > 0)
      .sort((x, y) => y[1] - x[1])
      .map(([k, v]) => `${k} ${(v / (SIZE / GiB)).toFixed(2)}`)
      .join(', ');
    return `${g.total.toFixed(2)} core-s/GiB (browser ${g.browser.toFixed(2)} [${kinds}] + server ${g.server.toFixed(2)}), machine busy ${c.machineBusyCores.toFixed(2)}/${cores} cores`;
  };
  // What sampling /proc costs this process per second (counted in the server's share below): measured idle.
  const idle = await measureWork(() => new Promise((r) => setTimeout(r, 2000)));
  console.log(
    `sampler overhead (idle 2 s): this process ${((idle.cost.selfCpuS / idle.cost.ms) * 1000).toFixed(3)} core-s/s, ` +
      `browser idle ${((idle.cost.childCpuS / idle.cost.ms) * 1000).toFixed(3)} core-s/s; ${cores} cores, load ${load()}`,
  );
  /** The busiest threads, core-s per GiB. */
  const threadText = (c: WorkCost): string =>
    Object.entries(c.childCpuByThread ?? {})
      .filter(([, v]) => v / (SIZE / GiB) >= 0.2)
      .sort((x, y) => y[1] - x[1])
      .map(([k, v]) => `${k} ${(v / (SIZE / GiB)).toFixed(2)}`)
      .join(', ');
  if (withReaders) {
    // The reading alone, default reader vs BYOB reader into one 1 MiB buffer: does BYOB save CPU per byte?
    for (let round = 0; round < ROUNDS; round++) {
      const defaultRead = () => measureWork(() => run('plainFetch', big), { threads });
      const byobRead = () => measureWork(() => run('plainFetchByob', big, MiB), { threads });
      // Alternating which goes first, as in the rounds below.
      const first = round % 2 === 0 ? await defaultRead() : await byobRead();
      const second = round % 2 === 0 ? await byobRead() : await defaultRead();
      const [plain, byob] = round % 2 === 0 ? [first, second] : [second, first];
      console.log(
        `readers round ${round + 1}: default ${rate(SIZE, plain.result.ms)}, CPU ${cpuText(plain.cost)}\n` +
          `                 BYOB    ${rate(SIZE, byob.result.ms)}, CPU ${cpuText(byob.cost)}` +
          (threads
            ? `\n   threads default ${threadText(plain.cost)}\n   threads BYOB    ${threadText(byob.cost)}`
            : ''),
      );
    }
  }
  let n = 0;
  for (const pace of paces) {
    server.pace = pace === null ? null : pace * 1e6;
    const link = pace === null ? 'unthrottled' : `paced ${pace} MB/s`;
    for (const chunk of chunkList) {
      const ratios: number[] = [];
      const opfsRatios: number[] = [];
      const opfsCosts: WorkCost[] = [];
      const peaks: number[] = [];
      const loads: string[] = [];
      const plainCosts: WorkCost[] = [];
      const storeCosts: WorkCost[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        const id = `bench-${n++}`;
        loads.push(load());
        // Alternate which goes first, so that a machine getting busier or quieter does not favour one side.
        const plainFirst = round % 2 === 0;
        const plainA = plainFirst ? await measureWork(() => run('plainFetch', big), { threads }) : null;
        const stored = await measureWork(() => run('store', refNamed(id), chunk * MiB, 4), { threads });
        if (!stored.result.ok)
          throw new Error(`store download failed: ${JSON.stringify(stored.result.error)}`);
        // The alternative measured beside it: hash + write to an OPFS file in one worker (not what the app uses).
        const opfs = withOpfs
          ? await measureWork(() => run('opfsDownload', big, chunk * MiB), { threads })
          : null;
        const plain = plainA ?? (await measureWork(() => run('plainFetch', big), { threads }));
        const ratio = plain.result.ms / stored.result.ms;
        ratios.push(ratio);
        if (opfs) {
          opfsRatios.push(plain.result.ms / opfs.result.ms);
          opfsCosts.push(opfs.cost);
        }
        peaks.push(stored.cost.rssPeak);
        plainCosts.push(plain.cost);
        storeCosts.push(stored.cost);
        console.log(
          `${link}, chunk ${chunk} MiB round ${round + 1} (load ${loads.at(-1)}): plain fetch ${rate(SIZE, plain.result.ms)} | through store ${rate(SIZE, stored.result.ms)} | ratio store/plain ${ratio.toFixed(2)}` +
            (opfs
              ? ` | OPFS alternative ${rate(SIZE, opfs.result.ms)} (ratio ${(plain.result.ms / opfs.result.ms).toFixed(2)}, RSS +${mb(opfs.cost.rssPeak)})`
              : '') +
            `\n         CPU plain ${cpuText(plain.cost)}\n         CPU store ${cpuText(stored.cost)}` +
            (opfs ? `\n         CPU OPFS alternative ${cpuText(opfs.cost)}` : '') +
            (threads
              ? `\n         threads plain ${threadText(plain.cost)}\n         threads store ${threadText(stored.cost)}`
              : '') +
            `\n         Chromium RSS (all processes) peak above start while storing +${mb(stored.cost.rssPeak)} (from ${mb(stored.cost.rssBase)})`,
        );
        if (pace === null && round === 0) {
          const loaded = await measureWork(() => run('read', id, 'onnx/decoder_model_merged.onnx'));
          console.log(
            `         load from store ${rate(SIZE, loaded.result.ms)}, RSS +${mb(loaded.cost.rssPeak)} (the whole file read into one buffer)`,
          );
        }
        await run('remove', id);
      }
      const plainCpu = median(plainCosts.map((c) => perGiB(c).total));
      const storeCpu = median(storeCosts.map((c) => perGiB(c).total));
      const plainRate = median(plainCosts.map((c) => SIZE / MiB / (c.ms / 1000)));
      const storeBrowserCpu = median(storeCosts.map((c) => perGiB(c).browser));
      const plainBrowserCpu = median(plainCosts.map((c) => perGiB(c).browser));
      // If the store had every core to itself it could move cores / storeCpu GiB per second: its CPU ceiling. With
      // the server on another machine (as for a user) only the browser's share would count.
      const ceiling = (cores / storeCpu) * 1024;
      const browserCeiling = (cores / storeBrowserCpu) * 1024;
      summary.push(
        `store-throughput, headless Chromium, ${mb(SIZE)} file, ${link}, ${chunk} MiB chunks, ${ratios.length} rounds, load average ${loads.join('/')}: ` +
          `store/plain ${spread(ratios)}` +
          (withOpfs
            ? `; OPFS alternative/plain ${spread(opfsRatios)} at ${median(opfsCosts.map((c) => perGiB(c).total)).toFixed(2)} core-s/GiB (median)`
            : '') +
          `; peak Chromium RSS while storing +${mb(Math.max(...peaks))}\n` +
          `    CPU (medians): plain ${plainCpu.toFixed(2)}, store ${storeCpu.toFixed(2)} core-s/GiB (store/plain CPU ${(storeCpu / plainCpu).toFixed(2)}); ` +
          `machine busy plain ${median(plainCosts.map((c) => c.machineBusyCores)).toFixed(2)}, store ${median(storeCosts.map((c) => c.machineBusyCores)).toFixed(2)} of ${cores} cores; ` +
          `store CPU ceiling on ${cores} idle cores ${ceiling.toFixed(0)} MiB/s = ${(ceiling / plainRate).toFixed(2)}× the plain fetch's ${plainRate.toFixed(0)} MiB/s; ` +
          `browser only (server elsewhere): plain ${plainBrowserCpu.toFixed(2)}, store ${storeBrowserCpu.toFixed(2)} core-s/GiB, ceiling ${browserCeiling.toFixed(0)} MiB/s`,
      );
    }
  }
  server.pace = null;
  console.log(`summary (one line per link speed and chunk size):\n${summary.join('\n')}`);
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
