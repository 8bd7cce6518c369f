// Benchmark (not part of npm test): the converter's compute kernels on the tensors of a realistic bf16 checkpoint
// (the `large` preset's widths: ViT-B/16 tower, 2048-wide TinyLlama-shaped decoder, 32000-token vocabulary), the
// kernels as shipped side by side with the ones before tuning (test/bench/convert-kernels-before.ts; every output is
// checked byte for byte against them), in MB of bf16 source per second on one core. Then the whole `npm run convert`
// in a child process (wall and CPU time) against a plain read of the same safetensors bytes, in one run.
//
//   npm run bench:convert-kernels [-- --layers 2] [--quant q4] [--before-ref REF] [--runs 2] [--browser]
//                                    [--skip-convert] [--keep]
//
// --browser also times the kernels in headless Chromium (test/bench/convert-kernels-page.ts, bundled with esbuild).
//
// --before-ref (default: the commit before the kernels were tuned): the whole conversion also runs from a copy of this
// tree whose kernel files are that commit's, so the whole-conversion gain of the kernels is measured, not inferred.
import { execFile, execFileSync } from 'node:child_process';
import {
  closeSync,
  cpSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import {
  headerLength,
  parseSafetensorsHeader,
  type SafetensorsEntry,
} from '../../src/modelgen/convert/safetensors-reader';
import { bfloat16ToFloat32Before } from './convert-kernels-before';
import { ceilings, kernelCases, runKernels, sourceShares } from './convert-kernels-cases';
import { writeBenchCheckpoint } from './convert-kernels-checkpoint';
import { chromiumKernels } from './convert-kernels-chromium';

/** The last commit whose kernels are the baseline above. */
const DEFAULT_BEFORE_REF = 'c962656';
const ROOT = path.resolve('.cache/bench/convert-kernels');

interface Tensor {
  entry: SafetensorsEntry;
  file: string;
}

function listTensors(dir: string): Tensor[] {
  const out: Tensor[] = [];
  for (const name of ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']) {
    const file = path.join(dir, name);
    const fd = openSync(file, 'r');
    try {
      const size = statSync(file).size;
      const first8 = new Uint8Array(8);
      readSync(fd, first8, 0, 8, 0);
      const length = headerLength(name, size, first8);
      const header = new Uint8Array(length);
      readSync(fd, header, 0, length, 8);
      for (const entry of parseSafetensorsHeader(name, size, header).entries.values())
        out.push({ entry, file });
    } finally {
      closeSync(fd);
    }
  }
  return out;
}

function readBits(t: Tensor): Uint16Array {
  const bytes = new Uint8Array(t.entry.byteLength);
  const fd = openSync(t.file, 'r');
  try {
    readSync(fd, bytes, 0, bytes.byteLength, t.entry.offset);
  } finally {
    closeSync(fd);
  }
  return new Uint16Array(bytes.buffer);
}

interface ConvertRun {
  label: string;
  wall: number;
  user: number;
  sys: number;
  manifest: string;
}

/** `npm run convert` of `cli` in a child process: wall, user and system CPU seconds from GNU time. */
async function timedConvert(
  label: string,
  cli: string,
  ckpt: string,
  quant: string,
  extra: string[] = [],
): Promise<ConvertRun> {
  const out = path.join(ROOT, `out-${label}`);
  const { stderr } = await promisify(execFile)(
    '/usr/bin/time',
    ['-f', 'times=%e %U %S', process.execPath, ...extra, '--import', 'tsx', cli].concat([
      '--input',
      ckpt,
      '--output',
      out,
      '--quant',
      quant,
      '--force',
    ]),
    { maxBuffer: 1 << 24 },
  );
  const [wall, user, sys] = (/times=([\d.]+) ([\d.]+) ([\d.]+)/.exec(stderr) ?? []).slice(1).map(Number);
  const manifest = readFileSync(path.join(out, 'manifest.json'), 'utf8');
  rmSync(out, { recursive: true, force: true });
  return { label, wall: wall!, user: user!, sys: sys!, manifest };
}

/** Reads the files start to end in 16 MiB chunks and drops the bytes: the "plain read" a conversion is held to. */
function plainRead(files: string[]): { bytes: number; seconds: number } {
  const chunk = new Uint8Array(16 << 20);
  let bytes = 0;
  const started = performance.now();
  for (const file of files) {
    const fd = openSync(file, 'r');
    try {
      for (;;) {
        const n = readSync(fd, chunk, 0, chunk.byteLength, null);
        if (n === 0) break;
        bytes += n;
      }
    } finally {
      closeSync(fd);
    }
  }
  return { bytes, seconds: (performance.now() - started) / 1000 };
}

/** The files whose code this benchmark tunes; everything else in the converter is the same on both sides. */
const KERNEL_FILES = [
  'src/modelgen/llava/quantize.ts',
  'src/modelgen/llava/transpose.ts',
  'src/modelgen/convert/float-bits.ts',
  'src/shared/float16.ts',
];

/**
 * This tree's src/ with the kernel files taken from `ref` (git show), so that the "before" converter differs from
 * this one in its kernels only, and runs against the same node_modules.
 */
function sourceWithKernelsOf(ref: string): string {
  const dir = path.join(ROOT, `kernels-of-${ref.replace(/[^\w.-]/g, '_')}`);
  rmSync(dir, { recursive: true, force: true });
  cpSync('src', path.join(dir, 'src'), { recursive: true });
  for (const file of KERNEL_FILES)
    writeFileSync(path.join(dir, file), execFileSync('git', ['show', `${ref}:${file}`]));
  return path.join(dir, 'src/modelgen/cli/convert.ts');
}

/** Self time per function of a V8 CPU profile, largest first, as [label, ms]. */
function profileSelfTimes(file: string): Array<[string, number]> {
  const p = JSON.parse(readFileSync(file, 'utf8')) as {
    nodes: Array<{ id: number; callFrame: { functionName: string; url: string } }>;
    samples: number[];
    timeDeltas: number[];
  };
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  p.samples.forEach((id, i) => {
    const f = byId.get(id)!.callFrame;
    const label = `${f.functionName || '(anonymous)'} ${f.url.split('/').slice(-2).join('/')}`;
    self.set(label, (self.get(label) ?? 0) + (p.timeDeltas[i] ?? 0) / 1000);
  });
  return [...self].sort((a, b) => b[1] - a[1]);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      layers: { type: 'string', default: '2' },
      quant: { type: 'string', default: 'q4' },
      'before-ref': { type: 'string', default: DEFAULT_BEFORE_REF },
      'skip-convert': { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      reps: { type: 'string', default: '4' },
      runs: { type: 'string', default: '2' },
      browser: { type: 'boolean', default: false },
    },
  });
  const layers = Number(values.layers);
  const ck = writeBenchCheckpoint(path.join(ROOT, `checkpoint-${layers}l`), layers);
  console.log(
    `checkpoint: preset large widths, ${layers} decoder layers, ${(ck.params / 1e6).toFixed(0)} M params, bf16, ` +
      `${(ck.bytes / 1e6).toFixed(0)} MB in 2 files${ck.seconds > 0 ? ` (written in ${ck.seconds.toFixed(1)} s)` : ' (cached)'}`,
  );
  const all = listTensors(ck.dir);
  const load = (pick: (name: string, dims: number[]) => boolean) =>
    all
      .filter((t) => pick(t.entry.name, t.entry.shape))
      .map((t) => {
        const bits = readBits(t);
        const f32 = new Float32Array(bits.length);
        bfloat16ToFloat32Before(bits, f32);
        return { name: t.entry.name, dims: t.entry.shape, bits, f32 };
      });
  const is2d = (dims: number[]) => dims.length === 2;
  const vision = load(
    (n, d) => is2d(d) && /vision_tower|multi_modal_projector/.test(n) && !/embeddings/.test(n),
  );
  const decoder = load((n, d) => is2d(d) && n.startsWith('language_model') && !n.includes('embed_tokens'));
  const embed = load((n) => n.includes('embed_tokens'));
  const reps = Number(values.reps);
  console.log(
    `\nkernels in Node ${process.version} (one core, best of ${reps}; MB of bf16 source per second):`,
  );
  const cases = kernelCases(vision, decoder, embed);
  const rates = runKernels(cases, reps, (line) => console.log(line));
  const shares = sourceShares(cases);
  const sourceMb = all.reduce((n, t) => n + t.entry.byteLength, 0) / 1e6;
  for (const line of ceilings(rates, shares, sourceMb)) console.log(line);
  if (values.browser) {
    console.log(
      `\nthe same kernels in headless Chromium (page thread; decoder layer 0 + lm_head, vision layers 0–3 + projector):`,
    );
    const page = await chromiumKernels(reps);
    for (const line of page.lines) console.log(line);
    for (const line of ceilings(new Map(page.rates), shares, sourceMb)) console.log(line);
  }
  if (values['skip-convert']) return;

  const sources = ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'].map((f) =>
    path.join(ck.dir, f),
  );
  const quant = values.quant;
  const read = plainRead(sources);
  const beforeCli = sourceWithKernelsOf(values['before-ref']);
  const afterCli = 'src/modelgen/cli/convert.ts';
  // Alternated runs, best of each: the machine is shared, so single runs swing.
  let before: ConvertRun | undefined;
  let afterPlain: ConvertRun | undefined;
  const best = (a: ConvertRun | undefined, b: ConvertRun): ConvertRun =>
    a === undefined
      ? b
      : { ...a, wall: Math.min(a.wall, b.wall), user: Math.min(a.user, b.user), sys: Math.min(a.sys, b.sys) };
  for (let run = 0; run < Number(values.runs); run++) {
    for (const side of run % 2 === 0 ? ['before', 'after'] : ['after', 'before']) {
      if (side === 'before') before = best(before, await timedConvert('before', beforeCli, ck.dir, quant));
      else afterPlain = best(afterPlain, await timedConvert('after', afterCli, ck.dir, quant));
    }
  }
  if (before === undefined || afterPlain === undefined) throw new Error('--runs must be at least 1');
  const profDir = path.join(ROOT, 'profile');
  rmSync(profDir, { recursive: true, force: true });
  const after = await timedConvert('after', afterCli, ck.dir, quant, [
    '--cpu-prof',
    `--cpu-prof-dir=${profDir}`,
  ]);
  const mb = ck.bytes / 1e6;
  const rate = (s: number) => mb / s;
  const readRate = read.bytes / 1e6 / read.seconds;
  console.log(
    `\nwhole conversion (npm run convert --quant ${quant}, child process; ${mb.toFixed(0)} MB of bf16 source):`,
  );
  console.log(`plain read of the same bytes (16 MiB chunks, page cache): ${readRate.toFixed(0)} MB/s`);
  for (const r of [before, afterPlain]) {
    const label = r === before ? `kernels of ${values['before-ref']}` : 'this tree';
    console.log(
      `${label.padEnd(22)} wall ${r.wall.toFixed(1)} s = ${rate(r.wall).toFixed(0)} MB/s (ratio to the plain read ` +
        `${(rate(r.wall) / readRate).toFixed(3)}×, to a 100 MB/s link ${(rate(r.wall) / 100).toFixed(2)}×); ` +
        `CPU user ${r.user.toFixed(1)} s + system ${r.sys.toFixed(1)} s = ${rate(r.user + r.sys).toFixed(0)} MB per CPU-second`,
    );
  }
  console.log(
    `outputs: ${before.manifest === afterPlain.manifest ? "identical manifests (every file's size and sha256)" : 'MANIFESTS DIFFER'}; ` +
      `CPU before/after ${((before.user + before.sys) / (afterPlain.user + afterPlain.sys)).toFixed(2)}×, ` +
      `user CPU ${(before.user / afterPlain.user).toFixed(2)}×, wall ${(before.wall / afterPlain.wall).toFixed(2)}× ` +
      '(best of each; wall swings with the load from other processes)',
  );
  const prof = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
  if (prof !== undefined) {
    const self = profileSelfTimes(path.join(profDir, prof));
    const total = self.reduce((n, [, ms]) => n + ms, 0);
    console.log(
      `\nwhere the converter's main thread spends its time (V8 profile of the "after" run, self time):`,
    );
    for (const [label, ms] of self.slice(0, 12))
      console.log(
        `${(ms / 1000).toFixed(2).padStart(7)} s  ${((100 * ms) / total).toFixed(1).padStart(5)}%  ` +
          `${((ms / mb) * 1000).toFixed(0).padStart(5)} µs/MB  ${label}`,
      );
  }
  if (before.manifest !== afterPlain.manifest || after.manifest !== afterPlain.manifest)
    throw new Error('the tuned converter wrote different files');
  if (!values.keep) rmSync(path.join(ROOT, 'profile'), { recursive: true, force: true });
}

await main();
