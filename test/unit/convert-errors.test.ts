// Bad input to the converter: pickle checkpoints, truncated files, lying headers, missing tensors, wrong shapes and
// unknown architectures each fail with their own code and an actionable message, before any output exists; a run
// aborted midway and an existing output folder leave nothing that looks complete. Also drives the CLI once.
import { execFile } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { convertCheckpoint } from '../../src/modelgen/convert/convert';
import { isConvertError, type ConvertErrorCode } from '../../src/modelgen/convert/errors';
import { PARTIAL_MARKER } from '../../src/modelgen/convert/output-folder';
import { getTinyModel } from '../fixtures/tiny-model';
import { removeTempDirs, tempDir, writeLlavaHfCheckpoint, writeOriginalCheckpoint } from './convert-helpers';

const tiny = getTinyModel('tiny');

/** A fresh llava-hf checkpoint (optionally in 2 files), the folder around it, and its would-be output path. */
function checkpoint(shards = 1, weights = tiny.weights) {
  const root = tempDir('bad');
  const input = path.join(root, 'ckpt');
  writeLlavaHfCheckpoint(input, tiny.config, weights, 'llava-hf', { shards });
  return { root, input, output: path.join(root, 'out') };
}

async function expectFailure(
  input: string,
  output: string,
  code: ConvertErrorCode,
  message: RegExp,
  extra = {},
) {
  const error = await convertCheckpoint({ input, output, quant: 'fp32', ...extra }).then(
    () => null,
    (e: unknown) => e,
  );
  expect(isConvertError(error), String(error)).toBe(true);
  expect((error as Error & { code: string }).code).toBe(code);
  expect((error as Error).message).toMatch(message);
  // Nothing that could pass for a converted folder: no output folder and no partial one.
  expect(existsSync(output)).toBe(false);
  expect(existsSync(`${output}.partial`)).toBe(false);
}

function editConfig(dir: string, edit: (c: Record<string, unknown>) => void): void {
  const file = path.join(dir, 'config.json');
  const c = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  edit(c);
  writeFileSync(file, JSON.stringify(c));
}

describe('converter errors', () => {
  it('refuses a pickle checkpoint and says how to re-save it as safetensors', async () => {
    const root = tempDir('pickle');
    const input = path.join(root, 'llava-v1.5-7b');
    mkdirSync(input);
    writeFileSync(
      path.join(input, 'config.json'),
      JSON.stringify({ architectures: ['LlavaLlamaForCausalLM'] }),
    );
    writeFileSync(path.join(input, 'pytorch_model-00001-of-00002.bin'), Buffer.from([0x80, 0x02, 0x7d]));
    writeFileSync(path.join(input, 'training_args.bin'), Buffer.from([0x80, 0x02]));
    await expectFailure(
      input,
      path.join(root, 'out'),
      'pickle-checkpoint',
      /pytorch_model-00001-of-00002\.bin.*\n.*safetensors[\s\S]*save_file[\s\S]*pytorch_model\*\.bin/,
    );
  });

  it('refuses a truncated shard ("download it again")', async () => {
    const { input, output } = checkpoint(2);
    const file = path.join(input, 'model-00002-of-00002.safetensors');
    truncateSync(file, statSync(file).size - 1000);
    await expectFailure(
      input,
      output,
      'truncated',
      /model-00002-of-00002\.safetensors is truncated.*1000 missing.*download the file again/i,
    );
  });

  it('refuses a header that lies about its offsets', async () => {
    const { input, output } = checkpoint();
    const file = path.join(input, 'model.safetensors');
    const bytes = readFileSync(file);
    const n = Number(bytes.readBigUInt64LE(0));
    const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')) as Record<
      string,
      { data_offsets: number[] }
    >;
    // Point one tensor at the bytes of its neighbour (same length, so only the tiling check can notice).
    const names = Object.keys(header).filter((k) => k !== '__metadata__');
    header[names[1]!]!.data_offsets = [
      ...header[names[0]!]!.data_offsets.slice(0, 1),
      header[names[0]!]!.data_offsets[0]! +
        header[names[1]!]!.data_offsets[1]! -
        header[names[1]!]!.data_offsets[0]!,
    ];
    let json = JSON.stringify(header);
    json += ' '.repeat(Math.max(0, n - json.length));
    expect(json.length).toBe(n);
    bytes.write(json, 8, 'utf8');
    writeFileSync(file, bytes);
    await expectFailure(input, output, 'bad-header', /lies about offsets.*overlaps/);
  });

  it('names a missing tensor', async () => {
    const weights = new Map(tiny.weights);
    weights.delete('language_model.model.layers.1.mlp.up_proj.weight');
    const { input, output } = checkpoint(1, weights);
    await expectFailure(
      input,
      output,
      'missing-tensor',
      /no tensor language_model\.model\.layers\.1\.mlp\.up_proj\.weight/,
    );
  });

  it('names a tensor whose shape the config contradicts', async () => {
    const { input, output } = checkpoint();
    editConfig(input, (c) => ((c.text_config as Record<string, unknown>).intermediate_size = 96));
    await expectFailure(input, output, 'shape-mismatch', /mlp\.gate_proj\.weight.*\[128, 64\].*\[96, 64\]/);
  });

  it.each([
    [
      'a LLaVA-NeXT architecture',
      (c: Record<string, unknown>) => (c.architectures = ['LlavaNextForConditionalGeneration']),
      /LlavaNextForConditionalGeneration/,
    ],
    [
      'a Mistral text model',
      (c: Record<string, unknown>) => ((c.text_config as Record<string, unknown>).model_type = 'mistral'),
      /"mistral"/,
    ],
    [
      'rope scaling',
      (c: Record<string, unknown>) =>
        ((c.text_config as Record<string, unknown>).rope_scaling = { type: 'linear', factor: 2 }),
      /rope_scaling/,
    ],
    [
      'not a LLaVA at all',
      (c: Record<string, unknown>) => {
        for (const k of Object.keys(c)) delete c[k];
        Object.assign(c, { architectures: ['BertModel'], model_type: 'bert' });
      },
      /BertModel/,
    ],
  ])('refuses an unknown architecture: %s', async (_label, edit, message) => {
    const { input, output } = checkpoint();
    editConfig(input, edit);
    await expectFailure(input, output, 'unsupported-architecture', message);
  });

  it('refuses an original-LLaVA projector it cannot express, and asks for --clip when the tower is elsewhere', async () => {
    const root = tempDir('orig-bad');
    const input = path.join(root, 'ckpt');
    const clip = path.join(root, 'clip');
    writeOriginalCheckpoint(input, clip, tiny.config, tiny.weights);
    await expectFailure(input, path.join(root, 'out'), 'missing-file', /--clip DIR/);
    editConfig(input, (c) => (c.mm_projector_type = 'mlp3x_gelu'));
    await expectFailure(input, path.join(root, 'out'), 'unsupported-architecture', /mlp3x_gelu/, { clip });
  });

  it('removes the partial folder when aborted midway, and never writes a manifest', async () => {
    const { input, output } = checkpoint();
    const controller = new AbortController();
    const seen: string[] = [];
    const error = await convertCheckpoint({
      input,
      output,
      quant: 'fp32',
      signal: controller.signal,
      onProgress: (e) => {
        if (e.kind === 'file-done') seen.push(e.file);
        if (e.kind !== 'tensor' || e.done !== 10) return;
        seen.push(e.tensor);
        // The partial folder exists and holds files, but no manifest, while converting.
        expect(existsSync(path.join(`${output}.partial`, PARTIAL_MARKER))).toBe(true);
        expect(existsSync(path.join(`${output}.partial`, 'manifest.json'))).toBe(false);
        controller.abort();
      },
    }).then(
      () => null,
      (e: unknown) => e,
    );
    expect((error as DOMException).name).toBe('AbortError');
    // Aborted after the 10th tensor: no further tensor, no graph written.
    expect(seen).toHaveLength(1);
    expect(seen[0]).not.toMatch(/\.onnx$/);
    expect(existsSync(output)).toBe(false);
    expect(existsSync(`${output}.partial`)).toBe(false);
  });

  it('leaves an existing output alone unless --force, then replaces it whole', async () => {
    const { input, output } = checkpoint();
    mkdirSync(output);
    writeFileSync(path.join(output, 'keep.txt'), 'mine');
    await expect(convertCheckpoint({ input, output, quant: 'fp32' })).rejects.toMatchObject({
      code: 'output-exists',
    });
    expect(readdirSync(output)).toEqual(['keep.txt']);
    // A crashed run's partial folder (ours: it has the marker) is cleared; someone else's is not touched.
    mkdirSync(`${output}.partial`);
    writeFileSync(path.join(`${output}.partial`, 'stray'), '');
    await expect(convertCheckpoint({ input, output, quant: 'fp32', force: true })).rejects.toMatchObject({
      code: 'output-exists',
    });
    writeFileSync(path.join(`${output}.partial`, PARTIAL_MARKER), '');
    await convertCheckpoint({ input, output, quant: 'fp32', force: true });
    expect(existsSync(path.join(output, 'keep.txt'))).toBe(false);
    expect(existsSync(path.join(output, 'manifest.json'))).toBe(true);
    expect(existsSync(`${output}.partial`)).toBe(false);
  });

  it('refuses a shard size below one layer, naming the size that would work', async () => {
    const { input, output } = checkpoint();
    await expectFailure(
      input,
      output,
      'bad-argument',
      /--shard-size 1000 is too small.*Use --shard-size \d+ or more/,
      { shardSize: 1000 },
    );
  });
});

describe('convert command line', () => {
  const run = promisify(execFile);
  const cli = (args: string[]) =>
    run(process.execPath, ['--import', 'tsx', 'src/modelgen/cli/convert.ts', ...args], {
      cwd: process.cwd(),
    }).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );

  it('converts with --shard-size in human units and reports the shards; exits 1 with the message on bad input', async () => {
    const { input, output } = checkpoint();
    const ok = await cli(['--input', input, '--output', output, '--quant', 'q4', '--shard-size', '120KB']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/decoder in 2 shard\(s\)/);
    const config = JSON.parse(readFileSync(path.join(output, 'config.json'), 'utf8')) as {
      llava_browser: { decoder_shards: Array<{ file: string }> };
    };
    expect(config.llava_browser.decoder_shards.map((s) => s.file)).toEqual([
      'onnx/decoder_shard_1_of_2_q4.onnx',
      'onnx/decoder_shard_2_of_2_q4.onnx',
    ]);
    const bad = await cli(['--input', path.join(input, 'nope'), '--output', `${output}-2`, '--quant', 'q4']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/is not a folder.*\[missing-file\]/);
    const usage = await cli([
      '--input',
      input,
      '--output',
      `${output}-3`,
      '--quant',
      'q4',
      '--shard-size',
      'lots',
    ]);
    expect(usage.code).toBe(2);
  }, 60_000);
});

afterAll(removeTempDirs);
