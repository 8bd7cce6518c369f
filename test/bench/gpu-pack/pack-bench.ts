// The GPU pack's benchmark (bundled into bench.mjs by build-pack.ts; run by run.sh): picks the backend (WebGPU
// through Dawn, or onnxruntime-web's WASM EP), measures bandwidth, generates the models on this machine, measures
// each through the engine and prints one table. Node-only; it must not fork the engine (measure-model.ts uses it).
//
//   node bench.mjs [--backend webgpu|wasm] [--quick] [--layers 2,6] [--new-tokens 32] [--work DIR] [--out FILE]
//                  [--ort-dir DIR] [--webgpu-module FILE] [--threads N] [--budget-s 420]

import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type * as OrtModule from 'onnxruntime-web';
import type { BackendDescriptor } from '../../../src/engine/runtime';
import type { WeightMap } from '../../../src/modelgen/llava/types';
import { measureBandwidth } from '../bandwidth';
import { instrumentOrt } from '../run-log';
import { measureModel } from './measure-model';
import { adapterFacts, gpuCopyBandwidth, installDawn } from './node-webgpu';
import { deepest, LLAVA7B_LAYERS, packModels, writePackModel } from './pack-models';
import { extrapolate, formatTable, type Column, type DeviceFacts } from './pack-table';

const here = path.dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    backend: { type: 'string', default: 'webgpu' },
    quick: { type: 'boolean', default: false },
    layers: { type: 'string' },
    'new-tokens': { type: 'string' },
    work: { type: 'string', default: path.join(here, 'work') },
    out: { type: 'string' },
    'ort-dir': { type: 'string', default: here },
    'webgpu-module': { type: 'string', default: path.join(here, 'webgpu', 'index.js') },
    threads: { type: 'string' },
    'budget-s': { type: 'string', default: '420' },
  },
  strict: true,
});

const started = performance.now();
const elapsedS = () => (performance.now() - started) / 1000;
const log = (line: string) => console.error(`[${elapsedS().toFixed(0).padStart(4)} s] ${line}`);

function fail(message: string): never {
  console.error(`bench: ${message}`);
  process.exit(2);
}

const backendName = values.backend;
if (backendName !== 'webgpu' && backendName !== 'wasm')
  fail(`--backend must be webgpu or wasm, got ${backendName}`);
const quick = values.quick;
const gpu = backendName === 'webgpu';
const depths = (values.layers ?? (gpu && !quick ? '2,6' : '1,2')).split(',').map(Number);
if (depths.length !== 2 || depths.some((d) => !Number.isInteger(d) || d < 1) || depths[0] === depths[1])
  fail('--layers takes two different depths, e.g. 2,8');
const newTokens = Number(values['new-tokens'] ?? (gpu ? 32 : quick ? 8 : 16));
// onnxruntime-web's browser build starts its threads as Web Workers from a fetched blob: Node has neither, so the
// pack's WASM EP runs on one thread (WebGPU work does not depend on it).
const threads = Number(values.threads ?? 1);
const budgetS = Number(values['budget-s']);

type Ort = typeof OrtModule;

/**
 * onnxruntime-web, told where its runtime files are (never a CDN). WebGPU needs the JSEP build (in the pack,
 * `onnxruntime-web` is that build); the WASM backend takes the plain one, because V8 spends minutes of CPU compiling
 * the JSEP binary (28 MB) in the background, and a process cannot even exit before that is done.
 */
async function setUpOrt(): Promise<Ort> {
  const ort: Ort = gpu ? await import('onnxruntime-web') : await import('onnxruntime-web/wasm');
  ort.env.wasm.wasmPaths = pathToFileURL(values['ort-dir']).href + '/';
  // The browser builds fetch their .wasm, and Node's fetch takes no file: URLs: hand them the bytes.
  const binary = path.join(
    values['ort-dir'],
    gpu ? 'ort-wasm-simd-threaded.jsep.wasm' : 'ort-wasm-simd-threaded.wasm',
  );
  if (existsSync(binary)) ort.env.wasm.wasmBinary = readFileSync(binary);
  ort.env.wasm.numThreads = threads;
  ort.env.logLevel = 'error';
  instrumentOrt(ort);
  return ort;
}

async function openBackend(ort: Ort): Promise<{ descriptor: BackendDescriptor; device: DeviceFacts }> {
  const quiet = { logSeverityLevel: 3 } as const;
  if (!gpu) {
    log('measuring memcpy bandwidth…');
    const bw = await measureBandwidth(quick ? 64 << 20 : 512 << 20, quick ? 2 : 5);
    // The bound that applies is what as many threads as ORT uses can stream.
    const usable = threads > 1 ? bw.best : Math.max(bw.sumOneThread, bw.copyOneThread);
    return {
      descriptor: {
        name: 'wasm',
        executionProviders: ['wasm'],
        keepKvOnDevice: false,
        adapter: null,
        shaderF16: false,
        threads,
        sessionOptions: quiet,
      },
      device: {
        backend: `onnxruntime-web ${ort.env.versions.web ?? ''} WASM EP, ${threads} thread${threads === 1 ? '' : 's'}, Node ${process.version}`,
        facts: [`CPU: ${os.cpus()[0]?.model ?? 'unknown'} × ${os.availableParallelism()}`],
        bandwidth: usable,
        bandwidthHow: `JS sum / TypedArray.set of ${quick ? 64 : 512} MiB on ${threads > 1 ? `up to ${bw.threads} threads` : '1 thread'}, best pass`,
      },
    };
  }
  const { gpu: dawn, adapter } = await installDawn(values['webgpu-module']);
  const facts = adapterFacts(adapter);
  log(`adapter: ${facts.vendor} ${facts.architecture} ${facts.description}; measuring copy bandwidth…`);
  const bandwidth = await gpuCopyBandwidth(adapter, quick ? 64 << 20 : 1 << 30);
  // An adapter opens one device (Dawn says it is "consumed"): onnxruntime-web gets an adapter of its own.
  const ortAdapter = await dawn.requestAdapter({ powerPreference: 'high-performance' });
  if (ortAdapter) ort.env.webgpu.adapter = ortAdapter;
  ort.env.webgpu.powerPreference = 'high-performance';
  return {
    descriptor: {
      name: 'webgpu',
      executionProviders: ['webgpu'],
      keepKvOnDevice: true,
      adapter: {
        vendor: facts.vendor,
        architecture: facts.architecture,
        description: facts.description,
        isFallbackAdapter: false,
      },
      shaderF16: facts.shaderF16,
      threads,
      sessionOptions: quiet,
      bufferLimits: {
        maxBufferSize: facts.limits.maxBufferSize ?? Infinity,
        maxStorageBufferBindingSize: facts.limits.maxStorageBufferBindingSize ?? Infinity,
      },
    },
    device: {
      backend: `onnxruntime-web ${ort.env.versions.web ?? ''} WebGPU EP (JSEP) on Dawn (webgpu npm), Node ${process.version}`,
      facts: [
        `adapter: ${[facts.vendor, facts.architecture, facts.description].filter(Boolean).join(' / ')}`,
        `shader-f16: ${facts.shaderF16 ? 'yes (the generator writes no fp16 weights: fp32 + q4 are measured)' : 'no'}`,
        ...Object.entries(facts.limits).map(([k, v]) => `${k}: ${v.toLocaleString('en-US')}`),
      ],
      bandwidth,
      bandwidthHow: `WGSL vec4 copy kernel over ${quick ? '64 MiB' : '1 GiB (or the binding limit)'}, best of 5`,
    },
  };
}

async function main(): Promise<void> {
  const ort = await setUpOrt();
  const { descriptor, device } = await openBackend(ort);
  log(`bandwidth ${(device.bandwidth / 1e9).toFixed(1)} GB/s`);
  const specs = packModels(quick, depths);
  const work = path.resolve(values.work);
  mkdirSync(work, { recursive: true });
  const columns: Column[] = [];
  // The deepest model first: its random weights are drawn once and reused for the shallower one.
  const series = deepest(specs);
  const order = [...specs].sort((a, b) => (a === series ? -1 : b === series ? 1 : 0));
  let shared: WeightMap | undefined;
  for (const spec of order) {
    if (elapsedS() > budgetS) {
      log(`skipping ${spec.label}: the ${budgetS} s budget is spent`);
      continue;
    }
    log(`generating ${spec.label}…`);
    const reuse = spec.layers !== null ? shared : undefined;
    const written = writePackModel(work, spec, reuse);
    if (spec === series) shared = written.weights;
    log(`measuring ${spec.label} on ${descriptor.name}…`);
    const m = await measureModel(written.dir, spec.config, { ort, backend: descriptor, newTokens, log });
    columns.push({ label: spec.label, layers: spec.layers, m });
    rmSync(written.dir, { recursive: true, force: true });
  }
  shared = undefined;
  columns.sort(
    (a, b) => specs.findIndex((s) => s.label === a.label) - specs.findIndex((s) => s.label === b.label),
  );
  const depthColumns = columns.filter((c) => c.layers !== null);
  const extrapolated =
    depthColumns.length === 2
      ? {
          label: `${quick ? 'quick shapes' : 'LLaVA-1.5-7B'}, ${LLAVA7B_LAYERS} layers (extrapolated)`,
          layers: LLAVA7B_LAYERS,
          m: extrapolate(depthColumns[0]!, depthColumns[1]!, LLAVA7B_LAYERS),
        }
      : null;
  const table = [
    `GPU pack benchmark: ${gpu ? 'WebGPU' : 'WASM'}${quick ? ', --quick (small shapes: not LLaVA-sized)' : ''}; ` +
      `decoder q4, vision and embeddings fp32; ${newTokens} new tokens per decode measure; ` +
      `${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, ${elapsedS().toFixed(0)} s in all.`,
    '',
    formatTable(device, columns, extrapolated),
    '',
  ].join('\n');
  console.log(table);
  if (values.out) writeFileSync(values.out, table);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
