// `npm run bench`: builds the bench model, measures memory bandwidth, then runs our engine and transformers.js on the
// same files and backend, each contender in its own child process (so peak RSS is its own), prints the tables and
// writes them into BENCHMARKS.md. Not part of `npm test`. Node-only.
//
//   npm run bench -- [--only id,id] [--contenders ours,tjs] [--repeat N] [--new-tokens 96,32,24] [--no-write] [--list]

import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { getTinyModel } from '../fixtures/tiny-model';
import { measureBandwidth } from './bandwidth';
import { bytesPerToken, ensureBenchModel, REPO_ROOT, type BenchModel } from './bench-model';
import { DEFAULT_NEW_TOKENS, type ContenderId, type ContenderResult } from './conversation';
import { renderMachine, renderTables, type BackendRow, type MachineInfo } from './report';

interface BackendSpec {
  id: string;
  label: string;
  kind: 'node' | 'browser';
  /** node: onnxruntime-node or onnxruntime-web (WASM); browser: the execution provider. */
  runtime: 'node' | 'web' | 'wasm' | 'webgpu';
  dtype: 'fp32' | 'q8' | 'q4';
  /** Run ours only, on the tiny model, and compare its answers with ours on Node (the adapter is software). */
  correctnessOnly?: boolean;
  /** Left out unless named with --only. */
  optional?: boolean;
}

/** The backends, in run order. Data, not logic. */
const BACKENDS: readonly BackendSpec[] = [
  {
    id: 'node-cpu-fp32',
    label: 'Node, onnxruntime-node CPU, fp32',
    kind: 'node',
    runtime: 'node',
    dtype: 'fp32',
  },
  { id: 'node-cpu-q4', label: 'Node, onnxruntime-node CPU, q4', kind: 'node', runtime: 'node', dtype: 'q4' },
  { id: 'node-wasm-q8', label: 'Node, onnxruntime-web WASM, q8', kind: 'node', runtime: 'web', dtype: 'q8' },
  {
    id: 'node-wasm-fp32',
    label: 'Node, onnxruntime-web WASM, fp32',
    kind: 'node',
    runtime: 'web',
    dtype: 'fp32',
    optional: true,
  },
  {
    id: 'node-wasm-q4',
    label: 'Node, onnxruntime-web WASM, q4',
    kind: 'node',
    runtime: 'web',
    dtype: 'q4',
    optional: true,
  },
  { id: 'chromium-wasm-q8', label: 'Chromium, WASM, q8', kind: 'browser', runtime: 'wasm', dtype: 'q8' },
  {
    id: 'chromium-webgpu',
    label: 'Chromium, WebGPU (SwiftShader), fp32, tiny model',
    kind: 'browser',
    runtime: 'webgpu',
    dtype: 'fp32',
    correctnessOnly: true,
  },
];

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    contenders: { type: 'string', default: 'ours,ahead,tjs' },
    repeat: { type: 'string', default: '3' },
    'new-tokens': { type: 'string', default: DEFAULT_NEW_TOKENS.join(',') },
    'no-write': { type: 'boolean', default: false },
    list: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
  strict: true,
});

const log = (line: string) => console.log(`[bench] ${line}`);

function chooseBackends(): BackendSpec[] {
  if (!values.only) return BACKENDS.filter((b) => !b.optional);
  const wanted = values.only.split(',').map((v) => v.trim());
  const unknown = wanted.filter((w) => !BACKENDS.some((b) => b.id === w));
  if (unknown.length > 0) throw new Error(`unknown backend(s) ${unknown.join(', ')}; try --list`);
  return BACKENDS.filter((b) => wanted.includes(b.id));
}

const TSX_CLI = path.join(
  path.dirname(createRequire(import.meta.url).resolve('tsx/package.json')),
  'dist/cli.mjs',
);

/** Runs one contender in a child process and parses its RESULT line. */
function runChild(script: string, args: string[]): Promise<ContenderResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [TSX_CLI, path.join(REPO_ROOT, 'test/bench', script), ...args], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (!line) {
        reject(new Error(`${script} ${args.join(' ')} exited ${code} without a result:\n${out}\n${err}`));
        return;
      }
      resolve(JSON.parse(line.slice('RESULT '.length)) as ContenderResult);
    });
  });
}

function childArgs(spec: BackendSpec, contender: ContenderId, modelDir: string, newTokens: string) {
  const common = [
    '--contender',
    contender,
    '--dtype',
    spec.dtype,
    '--model',
    modelDir,
    '--new-tokens',
    newTokens,
  ];
  if (spec.kind === 'node') {
    return {
      script: 'node-contender.ts',
      args: [...common, '--runtime', spec.runtime, '--threads', String(os.availableParallelism())],
    };
  }
  return { script: 'browser-contender.ts', args: [...common, '--device', spec.runtime] };
}

/** Best of several runs, metric by metric (other processes only ever slow a run down). */
function bestOf(runs: ContenderResult[]): ContenderResult | null {
  const ok = runs.filter((r) => !r.error && r.turns.length > 0);
  if (ok.length === 0) return runs[0] ?? null;
  const best = structuredClone(ok[0] as ContenderResult);
  for (const r of ok.slice(1)) {
    best.loadMs = Math.min(best.loadMs, r.loadMs);
    if (r.peakRssBytes !== null) best.peakRssBytes = Math.min(best.peakRssBytes ?? Infinity, r.peakRssBytes);
    r.turns.forEach((t, k) => {
      const b = best.turns[k];
      if (!b) return;
      b.ttftMs = Math.min(b.ttftMs, t.ttftMs);
      if (t.decodeTokPerS > b.decodeTokPerS) {
        b.decodeTokPerS = t.decodeTokPerS;
        if (t.decodeSplit) b.decodeSplit = t.decodeSplit;
      }
      b.newTokens = Math.max(b.newTokens, t.newTokens);
    });
  }
  return best;
}

function versionOf(pkg: string): string {
  const file = path.join(REPO_ROOT, 'node_modules', pkg, 'package.json');
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

function describeMachine(loadBefore: number[]): MachineInfo {
  const cpuinfo = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '';
  let chromium = 'Chromium (not found)';
  try {
    chromium = execFileSync('/usr/bin/chromium', ['--version'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    // Browser rows then fail on their own and say so.
  }
  return {
    cpu: /model name\s*:\s*(.+)/.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown',
    cores: os.availableParallelism(),
    ramBytes: os.totalmem(),
    node: process.version,
    chromium,
    ort: `onnxruntime-node ${versionOf('onnxruntime-node')}, onnxruntime-web ${versionOf('onnxruntime-web')}`,
    transformers: versionOf('@huggingface/transformers'),
    loadBefore,
    loadAfter: os.loadavg(),
    date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
  };
}

const BEGIN = '<!-- bench:begin (written by npm run bench) -->';
const END = '<!-- bench:end -->';

function writeBenchmarksMd(block: string): void {
  const file = path.join(REPO_ROOT, 'BENCHMARKS.md');
  const old = existsSync(file) ? readFileSync(file, 'utf8') : `# Benchmarks\n\n${BEGIN}\n${END}\n`;
  const start = old.indexOf(BEGIN);
  const end = old.indexOf(END);
  const next =
    start >= 0 && end > start
      ? `${old.slice(0, start + BEGIN.length)}\n${block}\n${old.slice(end)}`
      : `${old.trimEnd()}\n\n${BEGIN}\n${block}\n${END}\n`;
  writeFileSync(file, next);
}

/** Ours on the tiny model on Node and on the correctness-only backend: the three answers must be the same. */
async function correctnessRow(spec: BackendSpec, newTokens: string): Promise<BackendRow> {
  const tiny = getTinyModel('tiny').dir;
  const node = await runChild('node-contender.ts', [
    '--contender',
    'ours',
    '--dtype',
    'fp32',
    '--model',
    tiny,
    '--new-tokens',
    newTokens,
    '--runtime',
    'node',
  ]);
  const c = childArgs(spec, 'ours', tiny, newTokens);
  const browser = await runChild(c.script, c.args);
  const a = node.turns.map((t) => t.text);
  const b = browser.turns.map((t) => t.text);
  const same = !browser.error && a.length === 3 && a.every((t, i) => t === b[i]);
  const detail = browser.error
    ? `failed: ${browser.error.split('\n')[0] ?? ''}`
    : `turn-3 reused ${browser.turns[2]?.reusedPromptTokens ?? 0}/${browser.turns[2]?.promptTokens ?? 0} prompt tokens`;
  return {
    id: spec.id,
    label: spec.label,
    ours: browser,
    ahead: null,
    theirs: null,
    bytesPerToken: null,
    correctnessOnly: { reference: 'ours, Node CPU fp32', same, detail },
  };
}

async function main(): Promise<void> {
  if (values.help || values.list) {
    console.log(
      BACKENDS.map((b) => `${b.id.padEnd(18)} ${b.label}${b.optional ? ' (only with --only)' : ''}`).join(
        '\n',
      ),
    );
    return;
  }
  const loadBefore = os.loadavg();
  const started = performance.now();
  const backends = chooseBackends();
  const ids: readonly ContenderId[] = ['ours', 'ahead', 'tjs'];
  const contenders = values.contenders
    .split(',')
    .map((c) => c.trim())
    .filter((c): c is ContenderId => (ids as readonly string[]).includes(c));
  const repeat = Math.max(1, Number(values.repeat));
  const newTokens = values['new-tokens'];

  const model: BenchModel = ensureBenchModel(log);
  if (model.builtInS > 0) log(`built the bench model in ${model.builtInS.toFixed(0)} s`);
  log('measuring memory bandwidth…');
  let bw = await measureBandwidth();
  log(`bandwidth: best ${(bw.best / 1e9).toFixed(1)} GB/s`);

  const rows: BackendRow[] = [];
  for (const spec of backends) {
    if (spec.correctnessOnly) {
      log(`${spec.id}: ours on the tiny model, compared with Node…`);
      rows.push(await correctnessRow(spec, newTokens));
      continue;
    }
    const runs: Record<ContenderId, ContenderResult[]> = { ours: [], ahead: [], tjs: [] };
    for (let r = 0; r < repeat; r++) {
      for (const c of contenders) {
        const t0 = performance.now();
        const { script, args } = childArgs(spec, c, model.dir, newTokens);
        const result = await runChild(script, args);
        runs[c].push(result);
        log(
          `${spec.id} ${c}${repeat > 1 ? ` #${r + 1}` : ''}: ${result.error ? `FAILED ${result.error.split('\n')[0] ?? ''}` : 'ok'} (${((performance.now() - t0) / 1000).toFixed(0)} s)`,
        );
      }
    }
    const ours = bestOf(runs.ours);
    // The KV a decode step reads grows with the context: take the average over every decoded token.
    const decoded = (ours?.turns ?? []).map((t) => ({
      n: t.newTokens,
      mid: t.promptTokens + t.newTokens / 2,
    }));
    const total = decoded.reduce((a, d) => a + d.n, 0);
    const context = total > 0 ? Math.round(decoded.reduce((a, d) => a + d.n * d.mid, 0) / total) : 300;
    rows.push({
      id: spec.id,
      label: spec.label,
      ours,
      ahead: bestOf(runs.ahead),
      theirs: bestOf(runs.tjs),
      bytesPerToken: bytesPerToken(model, spec.dtype, context),
    });
  }

  // Other processes only ever lower the figure: measure again at the end and keep the better run.
  const again = await measureBandwidth();
  log(`bandwidth again: best ${(again.best / 1e9).toFixed(1)} GB/s`);
  if (again.best > bw.best) bw = again;

  const machine = describeMachine(loadBefore);
  const tables = renderTables(rows, bw);
  const minutes = (performance.now() - started) / 60000;
  const block = [
    '## Latest run',
    '',
    renderMachine(machine),
    `- Command: \`npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}\` ` +
      `(${minutes.toFixed(1)} min; new tokens per turn ${newTokens}; best of ${repeat} run(s) per contender).`,
    '',
    tables,
  ].join('\n');
  console.log(`\n${block}\n`);
  if (!values['no-write']) {
    writeBenchmarksMd(block);
    log('wrote BENCHMARKS.md');
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
