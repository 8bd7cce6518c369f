// Benchmark (not part of npm test): writes a ≥1B-parameter random LLaVA checkpoint (preset `large`, bf16, two
// safetensors files + index, like a hub repo) into .cache/bench, then times the converter on it in a child process
// and reports wall time, peak RSS and the shard sizes, for q4 and for q4 with an fp16-stored vision tower.
//
//   npx tsx test/bench/convert-large.ts [--keep] [--quant q4] [--shard-size 300MB]
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { formatBytes } from '../../src/shared/format-bytes';
import { writeSafetensors } from '../../src/modelgen/convert/safetensors-writer';
import {
  jsonBytes,
  preprocessorConfigJson,
  processorConfigJson,
  tokenizerConfigJson,
} from '../../src/modelgen/llava/config-files';
import { getPreset } from '../../src/modelgen/llava/presets';
import { fillNormal } from '../../src/modelgen/llava/random-weights';
import { buildTokenizer } from '../../src/modelgen/llava/tokenizer-builder';
import { listWeights, type WeightSpec } from '../../src/modelgen/llava/weight-spec';

const ROOT = path.resolve('.cache/bench/convert-large');
const CKPT = path.join(ROOT, 'checkpoint');

function std(spec: WeightSpec): [number, number] {
  const fanIn = spec.dims.slice(1).reduce((a, b) => a * b, 1);
  if (spec.role === 'norm-weight') return [1, 0.1];
  if (spec.role === 'bias' || spec.role === 'norm-bias') return [0, 0.05];
  if (spec.role === 'embedding' || spec.role === 'class') return [0, 1];
  return [0, 1 / Math.sqrt(fanIn)];
}

/** Writes the checkpoint once (a stamp file marks it complete); returns its parameter count and bytes. */
function writeCheckpoint(): { params: number; bytes: number; seconds: number } {
  const config = getPreset('large');
  const specs = listWeights(config);
  const params = specs.reduce((n, s) => n + s.dims.reduce((a, b) => a * b, 1), 0);
  const stamp = path.join(CKPT, '.complete');
  if (existsSync(stamp)) return { params, bytes: Number(readFileSync(stamp, 'utf8')), seconds: 0 };
  rmSync(CKPT, { recursive: true, force: true });
  mkdirSync(CKPT, { recursive: true });
  const started = performance.now();
  const half = Math.ceil(specs.length / 2);
  const files = [specs.slice(0, half), specs.slice(half)];
  const weightMap: Record<string, string> = {};
  let bytes = 0;
  files.forEach((part, i) => {
    const name = `model-0000${i + 1}-of-00002.safetensors`;
    bytes += writeSafetensors(
      path.join(CKPT, name),
      part,
      (s) => {
        const spec = s as WeightSpec;
        const [mean, sd] = std(spec);
        const count = spec.dims.reduce((a, b) => a * b, 1);
        let seed = 0;
        for (const ch of spec.name) seed = (Math.imul(seed, 31) + ch.charCodeAt(0)) >>> 0;
        return fillNormal(new Float32Array(count), seed, mean, sd);
      },
      { dtype: 'BF16', metadata: { format: 'pt' } },
    );
    for (const s of part) weightMap[s.name] = name;
  });
  writeFileSync(
    path.join(CKPT, 'model.safetensors.index.json'),
    jsonBytes({ metadata: { total_size: bytes }, weight_map: weightMap }),
  );
  writeFileSync(path.join(CKPT, 'config.json'), jsonBytes({ ...config, torch_dtype: 'bfloat16' }));
  const tok = buildTokenizer(config);
  writeFileSync(path.join(CKPT, 'tokenizer.json'), jsonBytes(tok.json));
  writeFileSync(path.join(CKPT, 'tokenizer_config.json'), jsonBytes(tokenizerConfigJson(config, tok)));
  writeFileSync(path.join(CKPT, 'preprocessor_config.json'), jsonBytes(preprocessorConfigJson(config)));
  writeFileSync(path.join(CKPT, 'processor_config.json'), jsonBytes(processorConfigJson(config)));
  writeFileSync(stamp, String(bytes));
  return { params, bytes, seconds: (performance.now() - started) / 1000 };
}

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
  const ck = writeCheckpoint();
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
