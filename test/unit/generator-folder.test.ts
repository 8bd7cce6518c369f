// Checks the model-folder writer: the transformers.js layout, a manifest that lists every file with its true size
// and sha256, byte-identical output for the same seed, the reuse stamp, external data that transformers.js finds
// through config.json, the image-token count for CLIP's "full" strategy, and the CLI's skip when current.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import {
  AutoProcessor,
  LlavaForConditionalGeneration,
  RawImage,
  type Tensor,
} from '@huggingface/transformers';
import { folderIsCurrent, readManifest, writeModelFolder } from '../../src/modelgen/llava/model-folder';
import { getPreset } from '../../src/modelgen/llava/presets';
import { offlineModelId } from '../fixtures/transformers-offline';

const roots: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'llava-folder-'));
  roots.push(dir);
  return dir;
}
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

function listFiles(dir: string, base = dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? listFiles(p, base) : [path.relative(base, p).split(path.sep).join('/')];
  });
}

const readJson = (dir: string, file: string): Record<string, unknown> =>
  JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as Record<string, unknown>;

describe('writeModelFolder', () => {
  it('writes the transformers.js layout with a truthful manifest', () => {
    const dir = path.join(tempDir(), 'm');
    const { manifest } = writeModelFolder(dir, { preset: 'tiny', seed: 5, dtypes: ['q4', 'fp32', 'q8'] });
    const expected = [
      'config.json',
      'generation_config.json',
      'preprocessor_config.json',
      'processor_config.json',
      'tokenizer.json',
      'tokenizer_config.json',
      ...['vision_encoder', 'embed_tokens', 'decoder_model_merged'].flatMap((c) =>
        ['', '_quantized', '_q4'].map((s) => `onnx/${c}${s}.onnx`),
      ),
    ].sort();
    expect(manifest.files.map((f) => f.path)).toEqual(expected);
    expect(listFiles(dir).sort()).toEqual([...expected, 'manifest.json'].sort());
    for (const f of manifest.files) {
      const bytes = readFileSync(path.join(dir, f.path));
      expect(bytes.byteLength).toBe(f.size);
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(f.sha256);
    }
    expect(manifest).toMatchObject({
      preset: 'tiny',
      seed: 5,
      dtypes: ['fp32', 'q8', 'q4'],
      externalData: 'auto',
    });
    expect(readManifest(dir)).toEqual(manifest);

    const config = readJson(dir, 'config.json');
    expect(config).toMatchObject({
      model_type: 'llava',
      architectures: ['LlavaForConditionalGeneration'],
      image_token_index: 510,
      'transformers.js_config': { dtype: 'fp32' },
    });
    expect(readJson(dir, 'generation_config.json')).toMatchObject({
      bos_token_id: 1,
      eos_token_id: 2,
      pad_token_id: 511,
    });
    expect(readJson(dir, 'processor_config.json')).toEqual({
      image_token: '<image>',
      num_additional_image_tokens: 0,
      patch_size: 8,
      processor_class: 'LlavaProcessor',
      vision_feature_select_strategy: 'default',
    });
    expect(readJson(dir, 'preprocessor_config.json')).toMatchObject({
      image_processor_type: 'CLIPImageProcessor',
      size: { shortest_edge: 32 },
      crop_size: { height: 32, width: 32 },
      image_mean: [0.48145466, 0.4578275, 0.40821073],
      image_std: [0.26862954, 0.26130258, 0.27577711],
    });
  });

  it('is byte-identical for the same seed and differs for another seed', () => {
    const a = writeModelFolder(path.join(tempDir(), 'a'), {
      preset: 'tiny-qwen-siglip',
      seed: 9,
      dtypes: ['fp32', 'q4'],
    });
    const b = writeModelFolder(path.join(tempDir(), 'b'), {
      preset: 'tiny-qwen-siglip',
      seed: 9,
      dtypes: ['fp32', 'q4'],
    });
    expect(b.manifest.files).toEqual(a.manifest.files);
    for (const f of a.manifest.files) {
      expect(readFileSync(path.join(b.dir, f.path)).equals(readFileSync(path.join(a.dir, f.path)))).toBe(
        true,
      );
    }
    const c = writeModelFolder(path.join(tempDir(), 'c'), {
      preset: 'tiny-qwen-siglip',
      seed: 10,
      dtypes: ['fp32', 'q4'],
    });
    const hash = (m: typeof a, p: string): string | undefined =>
      m.manifest.files.find((f) => f.path === p)?.sha256;
    expect(hash(c, 'onnx/decoder_model_merged.onnx')).not.toBe(hash(a, 'onnx/decoder_model_merged.onnx'));
    expect(hash(c, 'tokenizer.json')).toBe(hash(a, 'tokenizer.json'));
  });

  it('knows when a folder is current', () => {
    const dir = path.join(tempDir(), 'm');
    const options = { preset: 'tiny' as const, seed: 1, dtypes: ['fp32' as const] };
    expect(folderIsCurrent(dir, options)).toBe(false);
    writeModelFolder(dir, options);
    expect(folderIsCurrent(dir, options)).toBe(true);
    expect(folderIsCurrent(dir, { ...options, seed: 2 })).toBe(false);
    expect(folderIsCurrent(dir, { ...options, dtypes: ['fp32', 'q4'] })).toBe(false);
    expect(folderIsCurrent(dir, { ...options, externalData: 'always' })).toBe(false);
    rmSync(path.join(dir, 'onnx', 'embed_tokens.onnx'));
    expect(folderIsCurrent(dir, options)).toBe(false);
  });

  it('names q4-only folders q4 by default in config.json', () => {
    const dir = path.join(tempDir(), 'q4');
    writeModelFolder(dir, { preset: 'tiny', dtypes: ['q4'] });
    expect(readJson(dir, 'config.json')['transformers.js_config']).toEqual({ dtype: 'q4' });
  });

  it('writes a per-component default dtype and refuses one that was not written', async () => {
    const dir = path.join(tempDir(), 'mixed');
    const defaultDtype = {
      vision_encoder: 'fp32',
      embed_tokens: 'fp32',
      decoder_model_merged: 'q4',
    } as const;
    writeModelFolder(dir, { preset: 'tiny', dtypes: ['fp32', 'q4'], defaultDtype });
    expect(readJson(dir, 'config.json')['transformers.js_config']).toEqual({ dtype: defaultDtype });
    // transformers.js follows the map when no dtype is passed (it would fail on a missing file otherwise).
    rmSync(path.join(dir, 'onnx', 'decoder_model_merged.onnx'));
    const llava = await LlavaForConditionalGeneration.from_pretrained(offlineModelId(dir));
    await llava.dispose();
    expect(() =>
      writeModelFolder(path.join(tempDir(), 'bad'), { preset: 'tiny', dtypes: ['fp32'], defaultDtype: 'q4' }),
    ).toThrow(/not among the written dtypes/);
  });

  it('writes given files instead of generated ones and lists them', () => {
    const dir = path.join(tempDir(), 'given');
    const tokenizerConfig = new TextEncoder().encode('{"tokenizer_class":"LlamaTokenizer"}\n');
    const extra = new TextEncoder().encode('hello\n');
    const { manifest } = writeModelFolder(dir, {
      preset: 'tiny',
      files: [
        { path: 'tokenizer_config.json', bytes: tokenizerConfig },
        { path: 'README.md', bytes: extra },
      ],
      source: 'test',
    });
    expect(readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8')).toBe(
      '{"tokenizer_class":"LlamaTokenizer"}\n',
    );
    expect(manifest.files.filter((f) => f.path === 'tokenizer_config.json')).toHaveLength(1);
    expect(manifest.files.find((f) => f.path === 'README.md')?.size).toBe(6);
    expect(manifest.source).toBe('test');
  });

  it('writes external data that transformers.js finds through config.json', async () => {
    const dir = path.join(tempDir(), 'ext');
    const { manifest } = writeModelFolder(dir, { preset: 'tiny', dtypes: ['fp32'], externalData: 'always' });
    const dataFiles = manifest.files.map((f) => f.path).filter((p) => p.endsWith('.onnx_data'));
    expect(dataFiles).toEqual([
      'onnx/decoder_model_merged.onnx_data',
      'onnx/embed_tokens.onnx_data',
      'onnx/vision_encoder.onnx_data',
    ]);
    expect(readJson(dir, 'config.json')['transformers.js_config']).toEqual({
      dtype: 'fp32',
      use_external_data_format: {
        'vision_encoder.onnx': 1,
        'embed_tokens.onnx': 1,
        'decoder_model_merged.onnx': 1,
      },
    });
    // The weights really live outside the protobuf.
    expect(statSync(path.join(dir, 'onnx/embed_tokens.onnx')).size).toBeLessThan(4096);

    const id = offlineModelId(dir);
    const processor = await AutoProcessor.from_pretrained(id);
    const image = new RawImage(new Uint8ClampedArray(32 * 32 * 3).fill(128), 32, 32, 3);
    const inputs = await processor(image, 'USER: <image>\nHi ASSISTANT:');
    const llava = await LlavaForConditionalGeneration.from_pretrained(id);
    try {
      const out = (await llava.generate({ ...inputs, max_new_tokens: 3, do_sample: false })) as Tensor;
      expect(out.dims[1]).toBe((inputs.input_ids as Tensor).dims[1]! + 3);
    } finally {
      await llava.dispose();
    }
  });

  it('counts the CLS feature in num_additional_image_tokens for CLIP with the "full" strategy', async () => {
    const dir = path.join(tempDir(), 'full');
    const config = { ...getPreset('tiny'), vision_feature_select_strategy: 'full' as const };
    writeModelFolder(dir, { config, dtypes: ['fp32'] });
    expect(readJson(dir, 'processor_config.json').num_additional_image_tokens).toBe(1);
    const processor = await AutoProcessor.from_pretrained(offlineModelId(dir));
    const image = new RawImage(new Uint8ClampedArray(40 * 50 * 3).fill(7), 40, 50, 3);
    const inputs = await processor(image, 'USER: <image>\nHi ASSISTANT:');
    const session = await ort.InferenceSession.create(path.join(dir, 'onnx', 'vision_encoder.onnx'));
    const pv = inputs.pixel_values as Tensor;
    const out = await session.run({
      pixel_values: new ort.Tensor('float32', pv.data as Float32Array, pv.dims),
    });
    await session.release();
    const ids = Array.from((inputs.input_ids as Tensor).data as BigInt64Array, Number);
    expect(ids.filter((t) => t === config.image_token_index)).toHaveLength(17);
    expect(out.image_features!.dims[1]).toBe(17);
  });
});

describe('generate CLI', () => {
  it('writes a folder, then skips it while it is current', () => {
    const out = path.join(tempDir(), 'cli');
    const run = (): string =>
      execFileSync(
        process.execPath,
        [
          '--import',
          'tsx',
          'src/modelgen/cli/generate.ts',
          '--preset',
          'tiny',
          '--out',
          out,
          '--dtypes',
          'fp32,q4',
          '--seed',
          '3',
        ],
        { encoding: 'utf8' },
      );
    const first = run();
    expect(first).toMatch(/wrote 12 files/);
    expect(first).toMatch(/decoder_model_merged_q4\.onnx/);
    expect(readManifest(out)).toMatchObject({ preset: 'tiny', seed: 3, dtypes: ['fp32', 'q4'] });
    expect(run()).toMatch(/is current .*skipped/);
  });
});
