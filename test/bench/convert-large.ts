// Benchmark (not part of npm test): writes a ≥1B-parameter random LLaVA checkpoint (preset `large`, bf16, two
// safetensors files + index, like a hub repo) into .cache/bench, then times the converter on it in a child process
// and reports wall time, peak RSS and the shard sizes, for q4 and for q4 with an fp16-stored vision tower.
//
//   npx tsx test/bench/convert-large.ts [--keep] [--quant q4] [--shard-size 300MB]
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { formatBytes } from '../../src/shared/format-bytes';
import { writeBenchCheckpoint } from './convert-kernels-checkpoint';

const ROOT = path.resolve('.cache/bench/convert-large');
const CKPT = path.join(ROOT, 'checkpoint');

interface Run {
  label: string;
  seconds: number;
  peakRss: number;
  outBytes: number;
  shards: Array<{ file: string; layers: [number, number]; weight_bytes: number }>;
}

/** Runs the CLI in a child process so that its peak RSS is the conversion's alone (GNU time's max resident size). */
async function convert(label: string, args: string[]): Promise<Run> {
  const out = path.join(ROOT, `out-${label}`);
  const started = performance.now();
  const { stdout, stderr } = await promisify(execFile)(
    '/usr/bin/time',
    [
      '-f',
      'maxrss_kb=%M',
      process.execPath,
      '--import',
      'tsx',
      'src/modelgen/cli/convert.ts',
      '--input',
      CKPT,
      '--output',
      out,
      '--force',
      ...args,
    ],
    { maxBuffer: 1 << 24 },
  );
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(`${stdout.trimEnd().replace(/^/gm, `    [${label}] `)}\n`);
  const peakRss = Number(/maxrss_kb=(\d+)/.exec(stderr)?.[1] ?? NaN) * 1024;
  const manifest = JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8')) as {
    files: Array<{ size: number }>;
  };
  const config = JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8')) as {
    llava_browser: { decoder_shards: Run['shards'] };
  };
  return {
    label,
    seconds,
    peakRss,
    outBytes: manifest.files.reduce((n, f) => n + f.size, 0),
    shards: config.llava_browser.decoder_shards,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      keep: { type: 'boolean', default: false },
      quant: { type: 'string', default: 'q4' },
      'shard-size': { type: 'string', default: '300MB' },
    },
  });
  if (!existsSync('/usr/bin/time'))
    throw new Error('this benchmark needs GNU time (/usr/bin/time) to measure peak RSS');
  const ck = writeBenchCheckpoint(CKPT);
  console.log(
    `checkpoint: preset large, ${(ck.params / 1e9).toFixed(3)} B params, bf16, ${formatBytes(ck.bytes)} in 2 files` +
      (ck.seconds > 0 ? ` (written in ${ck.seconds.toFixed(1)} s)` : ' (cached)'),
  );
  const runs = [
    await convert(`${values.quant}`, ['--quant', values.quant, '--shard-size', values['shard-size']]),
    await convert(`${values.quant}-visionfp16`, [
      '--quant',
      values.quant,
      '--vision-quant',
      'fp16',
      '--shard-size',
      values['shard-size'],
    ]),
  ];
  for (const r of runs) {
    const largest = Math.max(...r.shards.map((s) => s.weight_bytes));
    console.log(
      `${r.label}: ${r.seconds.toFixed(1)} s, peak RSS ${formatBytes(r.peakRss)}, output ${formatBytes(r.outBytes)}, ` +
        `${r.shards.length} decoder shards (largest ${formatBytes(largest)}; ${r.shards.map((s) => `[${s.layers.join(',')})`).join(' ')}), ` +
        `checkpoint/peak-RSS ratio ${(ck.bytes / r.peakRss).toFixed(2)}`,
    );
  }
  console.log(
    `checkpoint size on disk: ${formatBytes(statSync(path.join(CKPT, 'model-00001-of-00002.safetensors')).size + statSync(path.join(CKPT, 'model-00002-of-00002.safetensors')).size)}`,
  );
  if (!values.keep)
    for (const r of runs) rmSync(path.join(ROOT, `out-${r.label}`), { recursive: true, force: true });
}

void main();
