// Benchmark (not part of npm test; run convert-large.ts with --keep first): loads the decoder shards of the converted
// 1.2 B-parameter model in headless Chromium, one session at a time as the engine does, on the WASM EP and on the
// software WebGPU adapter, and reports the WASM heap (every WebAssembly.Memory the page made) and the browser's
// processes' RSS after each shard; then runs one decoder pass through all shards (hidden states handed on as GPU
// buffers on WebGPU) and compares its logits with onnxruntime-node.
//
//   npx tsx test/bench/convert-browser-shards.ts [--model .cache/bench/convert-large/out-q4] [--ep wasm,webgpu]
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { formatBytes } from '../../src/shared/format-bytes';
import os from 'node:os';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS } from '../e2e/harness/browser';
import { startStaticServer } from '../e2e/harness/static-server';

interface Shard {
  file: string;
  layers: [number, number];
  external_data: string[];
}

const PAGE_DIR = path.resolve('.cache/bench/convert-browser-page');

/** The page: plain ES module, onnxruntime-web's WebGPU build (the one the app uses), single-threaded. */
const PAGE_SCRIPT = `
import * as ort from '/ort/ort.webgpu.min.mjs';
ort.env.wasm.wasmPaths = '/ort/';
ort.env.wasm.numThreads = 1;
const heap = () => Math.max(0, ...globalThis.__memories.map((m) => m.buffer.byteLength));
globalThis.runShards = async (ep, shards, config, embeds, seq) => {
  const sessions = [];
  const report = [];
  const D = config.hidden, kvh = config.kvHeads, hd = config.headDim;
  for (const [k, s] of shards.entries()) {
    const t0 = performance.now();
    const model = new Uint8Array(await (await fetch('/model/' + s.file)).arrayBuffer());
    const externalData = [];
    for (const f of s.external_data) externalData.push({ path: f.split('/').pop(), data: new Uint8Array(await (await fetch('/model/' + f)).arrayBuffer()) });
    const last = k === shards.length - 1;
    const options = { executionProviders: [ep], externalData };
    if (ep === 'webgpu') {
      const loc = {};
      for (let i = s.layers[0]; i < s.layers[1]; i++) { loc['present.' + i + '.key'] = 'gpu-buffer'; loc['present.' + i + '.value'] = 'gpu-buffer'; }
      if (!last) loc.hidden_states_out = 'gpu-buffer';
      options.preferredOutputLocation = loc;
    }
    sessions.push(await ort.InferenceSession.create(model, options));
    report.push({ shard: k + 1, heapBytes: heap(), seconds: (performance.now() - t0) / 1000 });
    await globalThis.__afterShard(k + 1);
  }
  const t0 = performance.now();
  let x = new ort.Tensor('float32', Float32Array.from(embeds), [1, seq, D]);
  const mask = new ort.Tensor('int64', new BigInt64Array(seq).fill(1n), [1, seq]);
  const pos = new ort.Tensor('int64', BigInt64Array.from({ length: seq }, (_, i) => BigInt(i)), [1, seq]);
  let logits = null;
  for (const [k, s] of shards.entries()) {
    const feeds = { [k === 0 ? 'inputs_embeds' : 'hidden_states']: x, attention_mask: mask, position_ids: pos };
    for (let i = s.layers[0]; i < s.layers[1]; i++) for (const kind of ['key', 'value']) feeds['past_key_values.' + i + '.' + kind] = new ort.Tensor('float32', new Float32Array(0), [1, kvh, 0, hd]);
    if (sessions[k].inputNames.includes('num_logits_to_keep')) feeds.num_logits_to_keep = new ort.Tensor('int64', [1n], []);
    const out = await sessions[k].run(feeds);
    if (k > 0) x.dispose();
    for (const [name, t] of Object.entries(out)) if (name.startsWith('present.')) t.dispose();
    if (k < shards.length - 1) x = out.hidden_states_out; else logits = Array.from(await out.logits.getData());
  }
  const runSeconds = (performance.now() - t0) / 1000;
  for (const s of sessions) await s.release();
  return { report, logits, runSeconds, hiddenLocation: ep === 'webgpu' ? 'gpu-buffer' : 'cpu' };
};
`;

/** Records every WebAssembly.Memory the page creates (ORT's heap is one of them). */
const INIT_SCRIPT = `
globalThis.__memories = [];
const NativeMemory = WebAssembly.Memory;
WebAssembly.Memory = function (...args) { const m = new NativeMemory(...args); globalThis.__memories.push(m); return m; };
WebAssembly.Memory.prototype = NativeMemory.prototype;
for (const name of ['instantiate', 'instantiateStreaming']) {
  const original = WebAssembly[name];
  WebAssembly[name] = async (...args) => {
    const result = await original.apply(WebAssembly, args);
    const instance = result.instance ?? result;
    for (const value of Object.values(instance.exports ?? {})) if (value instanceof NativeMemory) globalThis.__memories.push(value);
    return result;
  };
}
`;

interface Proc {
  pid: number;
  ppid: number;
  rss: number;
  args: string;
}

function processes(): Proc[] {
  const out = execFileSync('ps', ['-eo', 'pid=,ppid=,rss=,args='], { encoding: 'utf8', maxBuffer: 1 << 24 });
  return out
    .split('\n')
    .map((line) => /^\s*(\d+)\s+(\d+)\s+(\d+)\s+(.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ pid: Number(m[1]), ppid: Number(m[2]), rss: Number(m[3]) * 1024, args: m[4]! }));
}

/** The main process of the Chromium using `profile` (other helpers may run browsers at the same time). */
function ourBrowser(profile: string): number {
  const p = processes().find(
    (x) =>
      x.args.includes('chromium') &&
      x.args.includes(`--user-data-dir=${profile}`) &&
      !x.args.includes('--type='),
  );
  if (p === undefined) throw new Error('could not find the Chromium this benchmark started');
  return p.pid;
}

/** RSS of the browser's main process and all its descendants (zygote, renderer, GPU process), by process type. */
function browserRss(mainPid: number): { total: number; byType: Record<string, number> } {
  const all = processes();
  const tree = new Set([mainPid]);
  for (let grew = true; grew;) {
    grew = false;
    for (const p of all) {
      if (tree.has(p.ppid) && !tree.has(p.pid)) {
        tree.add(p.pid);
        grew = true;
      }
    }
  }
  const byType: Record<string, number> = {};
  let total = 0;
  for (const p of all) {
    if (!tree.has(p.pid)) continue;
    const type = /--type=([a-z-]+)/.exec(p.args)?.[1] ?? 'browser';
    byType[type] = (byType[type] ?? 0) + p.rss;
    total += p.rss;
  }
  return { total, byType };
}

function embeds(seq: number, hidden: number): number[] {
  return Array.from({ length: seq * hidden }, (_, i) => Math.sin(i * 0.013) * 0.5);
}

async function nodeLogits(
  dir: string,
  shards: Shard[],
  x0: number[],
  seq: number,
  c: { hidden: number; kvHeads: number; headDim: number },
) {
  let x: ort.Tensor = new ort.Tensor('float32', Float32Array.from(x0), [1, seq, c.hidden]);
  const i64 = (v: number[], dims: number[]) =>
    new ort.Tensor('int64', BigInt64Array.from(v.map(BigInt)), dims);
  for (const [k, s] of shards.entries()) {
    const session = await ort.InferenceSession.create(path.join(dir, s.file));
    const feeds: Record<string, ort.Tensor> = {
      [k === 0 ? 'inputs_embeds' : 'hidden_states']: x,
      attention_mask: i64(Array(seq).fill(1), [1, seq]),
      position_ids: i64([...Array(seq).keys()], [1, seq]),
    };
    for (let i = s.layers[0]; i < s.layers[1]; i++)
      for (const kind of ['key', 'value'])
        feeds[`past_key_values.${i}.${kind}`] = new ort.Tensor('float32', new Float32Array(0), [
          1,
          c.kvHeads,
          0,
          c.headDim,
        ]);
    if (session.inputNames.includes('num_logits_to_keep')) feeds.num_logits_to_keep = i64([1], []);
    const out = await session.run(feeds);
    if (k < shards.length - 1) x = out.hidden_states_out!;
    else return Array.from(out.logits!.data as Float32Array);
    await session.release();
  }
  throw new Error('no shards');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string', default: '.cache/bench/convert-large/out-q4' },
      ep: { type: 'string', default: 'wasm,webgpu' },
    },
  });
  const dir = path.resolve(values.model);
  const config = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8')) as {
    text_config: { hidden_size: number; num_attention_heads: number; num_key_value_heads: number };
    llava_browser: { decoder_shards: Shard[] };
  };
  const t = config.text_config;
  const c = {
    hidden: t.hidden_size,
    kvHeads: t.num_key_value_heads,
    headDim: t.hidden_size / t.num_attention_heads,
  };
  const shards = config.llava_browser.decoder_shards;
  const seq = 4;
  const x0 = embeds(seq, c.hidden);
  const reference = await nodeLogits(dir, shards, x0, seq, c);
  mkdirSync(PAGE_DIR, { recursive: true });
  writeFileSync(
    path.join(PAGE_DIR, 'index.html'),
    '<!doctype html><script type="module" src="./page.mjs"></script>',
  );
  writeFileSync(path.join(PAGE_DIR, 'page.mjs'), PAGE_SCRIPT);
  const server = await startStaticServer([
    { prefix: '/ort/', dir: path.resolve('node_modules/onnxruntime-web/dist') },
    { prefix: '/model/', dir },
    { prefix: '/', dir: PAGE_DIR },
  ]);
  try {
    for (const ep of values.ep.split(',')) {
      // Launched here rather than through the e2e harness, to know the profile folder and so our processes.
      const profileDir = mkdtempSync(path.join(os.tmpdir(), 'convert-bench-'));
      const args = [...CHROMIUM_ARGS];
      if (ep === 'webgpu') args.push('--enable-unsafe-webgpu');
      const context = await chromium.launchPersistentContext(profileDir, {
        executablePath: '/usr/bin/chromium',
        headless: true,
        args,
      });
      const logs: string[] = [];
      const browser = {
        newPage: async () => {
          const p = await context.newPage();
          p.on('console', (m) => logs.push(m.text()));
          return p;
        },
        logs,
        close: async () => {
          await context.close();
          rmSync(profileDir, { recursive: true, force: true });
        },
      };
      const profile = ourBrowser(profileDir);
      try {
        const page = await browser.newPage();
        await page.addInitScript(INIT_SCRIPT);
        const rss: Array<ReturnType<typeof browserRss>> = [];
        await page.exposeFunction('__afterShard', () => {
          rss.push(browserRss(profile));
        });
        await page.goto(`${server.origin}/index.html`);
        await page.waitForFunction(() => 'runShards' in globalThis);
        const before = browserRss(profile);
        const result = (await page.evaluate(
          ([e, s, cfg, x, n]) =>
            (globalThis as unknown as { runShards: (...a: unknown[]) => Promise<unknown> }).runShards(
              e,
              s,
              cfg,
              x,
              n,
            ),
          [ep, shards, c, x0, seq] as const,
        )) as {
          report: Array<{ shard: number; heapBytes: number; seconds: number }>;
          logits: number[];
          runSeconds: number;
        };
        let diff = 0;
        for (let i = 0; i < reference.length; i++)
          diff = Math.max(diff, Math.abs(reference[i]! - result.logits[i]!));
        console.log(`${ep}: browser RSS before loading ${formatBytes(before.total)}`);
        for (const [i, r] of result.report.entries()) {
          const p = rss[i]!;
          console.log(
            `  shard ${r.shard}/${shards.length} (${formatBytes(shards[i]!.external_data.reduce((n, f) => n + readFileSync(path.join(dir, f)).byteLength, 0))}): ` +
              `created in ${r.seconds.toFixed(1)} s; WASM heap ${formatBytes(r.heapBytes)}; browser RSS ${formatBytes(p.total)} ` +
              `(${Object.entries(p.byType)
                .map(([k, v]) => `${k} ${formatBytes(v)}`)
                .join(', ')})`,
          );
        }
        console.log(
          `  one pass of ${seq} tokens through all shards: ${result.runSeconds.toFixed(1)} s; max |logit − onnxruntime-node| = ${diff.toExponential(2)}`,
        );
      } catch (error) {
        console.log(`${ep}: failed: ${(error as Error).message.split('\n')[0]}`);
        console.log(browser.logs.slice(-5).join('\n'));
      } finally {
        await browser.close();
      }
    }
  } finally {
    await server.close();
  }
}

void main();
