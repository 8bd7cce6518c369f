// Converting tiny checkpoints end to end: every naming (llava-hf, model.language_model, original LLaVA + CLIP folder)
// in fp32, bf16 and fp16 files gives a folder whose logits match the float64 reference on the checkpoint's exact
// weights; the 1-, 2- and 3-shard conversions agree; q4 and fp16 stay within justified bounds; the folder's
// config.json, tokenizer and manifest are complete and correct.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertCheckpoint, type ConvertResult } from '../../src/modelgen/convert/convert';
import { decoderHeadBytes, decoderLayerBytes } from '../../src/modelgen/convert/shard-plan';
import { getPreset } from '../../src/modelgen/llava/presets';
import { createRandomWeights } from '../../src/modelgen/llava/random-weights';
import type { LlavaHfConfig, WeightMap } from '../../src/modelgen/llava/types';
import { referencePrefill } from '../fixtures/reference';
import { getTinyModel } from '../fixtures/tiny-model';
import {
  removeTempDirs,
  roundWeights,
  tempDir,
  writeLlavaHfCheckpoint,
  writeOriginalCheckpoint,
} from './convert-helpers';
import { ConvertedModel } from './convert-runner';
import { maxAbsDiff, seededPixels } from './helpers/compare';

/** fp32 ONNX vs float64 reference on the same weights: the generator's own tests hold this bound. */
const TOL = 1e-4;

/** BOS, a few words, the 16 image tokens of the tiny preset, more words. */
function prompt(imageId: number): number[] {
  return [1, 40, 41, 42, ...Array<number>(16).fill(imageId), 50, 51, 52, 53];
}

describe('converted tiny checkpoints match the float64 reference', () => {
  const tiny = getTinyModel('tiny');
  const px = seededPixels(32, 7);
  const IMG = tiny.config.image_token_index;
  const cases = [
    { label: 'llava-hf names, fp32, one file', naming: 'llava-hf', dtype: 'F32', shards: 1 },
    {
      label: 'llava-hf names, bf16, 3 files + index, defaults omitted',
      naming: 'llava-hf',
      dtype: 'BF16',
      shards: 3,
      omitDefaults: true,
    },
    { label: 'model.language_model names, fp16', naming: 'llava-hf-v2', dtype: 'F16', shards: 1 },
    { label: 'original LLaVA names + CLIP folder, fp32', naming: 'original', dtype: 'F32', shards: 1 },
    {
      label: 'original LLaVA names + CLIP folder, bf16, 2 files',
      naming: 'original',
      dtype: 'BF16',
      shards: 2,
    },
  ] as const;

  it.each(cases)('$label', async (c) => {
    const root = tempDir('model');
    const input = path.join(root, 'ckpt');
    const clip = path.join(root, 'clip');
    const opts = {
      dtype: c.dtype,
      shards: c.shards,
      ...('omitDefaults' in c ? { omitDefaults: c.omitDefaults } : {}),
    };
    if (c.naming === 'original') writeOriginalCheckpoint(input, clip, tiny.config, tiny.weights, opts);
    else writeLlavaHfCheckpoint(input, tiny.config, tiny.weights, c.naming, opts);
    const result = await convertCheckpoint({
      input,
      output: path.join(root, 'out'),
      quant: 'fp32',
      ...(c.naming === 'original' ? { clip } : {}),
    });
    expect(result.naming).toBe(c.naming);
    const model = await ConvertedModel.open(result.dir);
    try {
      // The original repo has no <image> token: the converter adds it after the last id (as llava-hf did: 32000).
      const imageId = c.naming === 'original' ? tiny.config.text_config.vocab_size : IMG;
      expect(model.imageTokenId).toBe(imageId);
      const got = await model.prefill(prompt(imageId), { data: px, size: 32 });
      // The checkpoint holds the weights rounded to its dtype; widening them back is exact, so the converted model
      // must equal the reference on those rounded weights as closely as an fp32 conversion does.
      const ref = referencePrefill(tiny.config, roundWeights(tiny.weights, c.dtype), prompt(IMG), {
        data: px,
      });
      expect(maxAbsDiff(got, ref.logits)).toBeLessThan(TOL);
    } finally {
      await model.release();
    }
  });

  it('converts a LLaVA-1.0-style original checkpoint: linear projector, last-layer features, tower inside the checkpoint', async () => {
    const config = structuredClone(tiny.config);
    config.mm_projector_type = 'linear';
    config.vision_feature_layer = -1;
    const weights = createRandomWeights(config, 4);
    expect(weights.has('multi_modal_projector.linear_2.weight')).toBe(false);
    const root = tempDir('llava-1.0');
    writeOriginalCheckpoint(path.join(root, 'ckpt'), path.join(root, 'clip'), config, weights, {
      embedVision: true,
    });
    const result = await convertCheckpoint({
      input: path.join(root, 'ckpt'),
      clip: path.join(root, 'clip'),
      output: path.join(root, 'out'),
      quant: 'fp32',
    });
    expect(result.config.mm_projector_type).toBe('linear');
    expect(result.config.vision_feature_layer).toBe(-1);
    const model = await ConvertedModel.open(result.dir);
    try {
      const got = await model.prefill(prompt(model.imageTokenId), { data: px, size: 32 });
      const ref = referencePrefill(config, weights, prompt(IMG), { data: px });
      expect(maxAbsDiff(got, ref.logits)).toBeLessThan(TOL);
    } finally {
      await model.release();
    }
  });

  it('converts a Qwen2 + SigLIP checkpoint (q/k/v biases, no CLS, "full" features)', async () => {
    const qwen = getTinyModel('tiny-qwen-siglip');
    const root = tempDir('qwen');
    writeLlavaHfCheckpoint(path.join(root, 'ckpt'), qwen.config, qwen.weights, 'llava-hf-v2', {
      dtype: 'BF16',
    });
    const result = await convertCheckpoint({
      input: path.join(root, 'ckpt'),
      output: path.join(root, 'out'),
      quant: 'fp32',
    });
    const model = await ConvertedModel.open(result.dir);
    try {
      const ids = [40, 41, ...Array<number>(16).fill(qwen.config.image_token_index), 50, 51];
      const got = await model.prefill(ids, { data: px, size: 32 });
      const ref = referencePrefill(qwen.config, roundWeights(qwen.weights, 'BF16'), ids, { data: px });
      expect(maxAbsDiff(got, ref.logits)).toBeLessThan(TOL);
    } finally {
      await model.release();
    }
  });

  it('adds <image> to a Vicuna-style tokenizer and pads embed_tokens for it (original naming)', async () => {
    const root = tempDir('image-token');
    writeOriginalCheckpoint(path.join(root, 'ckpt'), path.join(root, 'clip'), tiny.config, tiny.weights);
    const result = await convertCheckpoint({
      input: path.join(root, 'ckpt'),
      clip: path.join(root, 'clip'),
      output: path.join(root, 'out'),
      quant: 'fp32',
    });
    const V = tiny.config.text_config.vocab_size;
    const tok = JSON.parse(readFileSync(path.join(result.dir, 'tokenizer.json'), 'utf8')) as {
      added_tokens: Array<{ id: number; content: string; special: boolean }>;
    };
    expect(tok.added_tokens.find((t) => t.content === '<image>')).toMatchObject({ id: V, special: true });
    const tokConfig = JSON.parse(
      readFileSync(path.join(result.dir, 'tokenizer_config.json'), 'utf8'),
    ) as Record<string, unknown>;
    expect(tokConfig.chat_template).toContain('USER: ');
    const config = JSON.parse(readFileSync(path.join(result.dir, 'config.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(config.image_token_index).toBe(V);
    expect(config.image_aspect_ratio).toBe('pad');
    expect((config.text_config as Record<string, unknown>).vocab_size).toBe(V);
    const model = await ConvertedModel.open(result.dir);
    const rows = await model.embed([V, 3]);
    const D = tiny.config.text_config.hidden_size;
    expect(Array.from(rows.subarray(0, D)).every((v) => v === 0)).toBe(true);
    expect(Array.from(rows.subarray(D))).toEqual(
      Array.from(tiny.weights.get('language_model.model.embed_tokens.weight')!.data.subarray(3 * D, 4 * D)),
    );
    await model.release();
  });
});

describe('tokenizer ids past the embedding table, end-of-turn tokens', () => {
  const tiny = getTinyModel('tiny');
  const V = tiny.config.text_config.vocab_size;
  const D = tiny.config.text_config.hidden_size;
  type TokenizerJson = { added_tokens: Array<Record<string, unknown>> };

  it("pads embed_tokens for llava-hf's tokenizer (<image> = V, <pad> = V + 1) given to an original checkpoint", async () => {
    const root = tempDir('hf-tokenizer');
    const ckpt = path.join(root, 'ckpt');
    writeOriginalCheckpoint(ckpt, path.join(root, 'clip'), tiny.config, tiny.weights);
    // llava-hf's tokenizer: Vicuna's plus <image> right after the last id and <pad> after it.
    const tokDir = path.join(root, 'llava-hf-tokenizer');
    mkdirSync(tokDir);
    const tok = JSON.parse(readFileSync(path.join(ckpt, 'tokenizer.json'), 'utf8')) as TokenizerJson;
    const special = { single_word: false, lstrip: false, rstrip: false, normalized: false, special: true };
    tok.added_tokens.push(
      { id: V, content: '<image>', ...special },
      { id: V + 1, content: '<pad>', ...special },
    );
    writeFileSync(path.join(tokDir, 'tokenizer.json'), JSON.stringify(tok));
    const result = await convertCheckpoint({
      input: ckpt,
      clip: path.join(root, 'clip'),
      tokenizer: tokDir,
      output: path.join(root, 'out'),
      quant: 'fp32',
    });
    const model = await ConvertedModel.open(result.dir);
    try {
      expect(model.imageTokenId).toBe(V);
      // Both ids past the checkpoint's rows embed as zero rows; ordinary ids keep their rows.
      const rows = await model.embed([V + 1, V, 3]);
      expect(Array.from(rows.subarray(0, 2 * D)).every((v) => v === 0)).toBe(true);
      expect(Array.from(rows.subarray(2 * D))).toEqual(
        Array.from(tiny.weights.get('language_model.model.embed_tokens.weight')!.data.subarray(3 * D, 4 * D)),
      );
      // The recipe's failure was on every picture: a prompt with image tokens must run.
      const px = seededPixels(32, 5);
      const got = await model.prefill(prompt(V), { data: px, size: 32 });
      const ref = referencePrefill(tiny.config, tiny.weights, prompt(tiny.config.image_token_index), {
        data: px,
      });
      expect(maxAbsDiff(got, ref.logits)).toBeLessThan(TOL);
    } finally {
      await model.release();
    }
  });

  it('refuses to pad a tied table and names the ids', async () => {
    const root = tempDir('hf-tokenizer-tied');
    const ckpt = path.join(root, 'ckpt');
    writeOriginalCheckpoint(ckpt, path.join(root, 'clip'), tiny.config, tiny.weights);
    const file = path.join(ckpt, 'config.json');
    writeFileSync(
      file,
      JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), tie_word_embeddings: true }),
    );
    const error = await convertCheckpoint({
      input: ckpt,
      clip: path.join(root, 'clip'),
      output: path.join(root, 'out'),
      quant: 'fp32',
    }).then(
      () => null,
      (e: unknown) => e as Error & { code: string },
    );
    expect(error?.code).toBe('unsupported-architecture');
    expect(error?.message).toMatch(new RegExp(`ids up to ${V} but embed_tokens has ${V} rows`));
  });

  it("stops at the chat template's end-of-turn token when generation_config names only end-of-text", async () => {
    const root = tempDir('eot');
    const ckpt = path.join(root, 'ckpt');
    writeLlavaHfCheckpoint(ckpt, tiny.config, tiny.weights, 'llava-hf');
    // Llama-3 style (xtuner/llava-llama-3-8b-v1_1-transformers): turns end with <|eot_id|>, eos is end-of-text.
    const tok = JSON.parse(readFileSync(path.join(ckpt, 'tokenizer.json'), 'utf8')) as TokenizerJson;
    const eot = V - 1;
    const renamed = tok.added_tokens.map((t) => (t.id === eot ? { ...t, content: '<|eot_id|>' } : t));
    writeFileSync(path.join(ckpt, 'tokenizer.json'), JSON.stringify({ ...tok, added_tokens: renamed }));
    const tokConfigFile = path.join(ckpt, 'tokenizer_config.json');
    const tokConfig = JSON.parse(readFileSync(tokConfigFile, 'utf8')) as Record<string, unknown>;
    tokConfig.chat_template =
      "{% for m in messages %}<|start_header_id|>{{ m['role'] }}<|end_header_id|>\n\n{{ m['content'] }}<|eot_id|>{% endfor %}";
    writeFileSync(tokConfigFile, JSON.stringify(tokConfig));
    writeFileSync(
      path.join(ckpt, 'generation_config.json'),
      JSON.stringify({ bos_token_id: 1, eos_token_id: 2 }),
    );
    const result = await convertCheckpoint({ input: ckpt, output: path.join(root, 'out'), quant: 'fp32' });
    const generation = JSON.parse(readFileSync(path.join(result.dir, 'generation_config.json'), 'utf8')) as {
      eos_token_id: unknown;
    };
    expect(generation.eos_token_id).toEqual([2, eot]);
  });
});

describe('decoder shards', () => {
  // Four layers so that three shards are possible.
  const config: LlavaHfConfig = getPreset('tiny');
  config.text_config.num_hidden_layers = 4;
  const weights: WeightMap = createRandomWeights(config, 11);
  const px = seededPixels(32, 3);
  const L = decoderLayerBytes(config, 'fp32');
  const H = decoderHeadBytes(config, 'fp32');
  const root = tempDir('shards');
  const input = path.join(root, 'ckpt');
  const results = new Map<number, ConvertResult>();
  const runs = new Map<number, { tokens: number[]; logits: Float32Array[]; prefill: Float32Array }>();
  // Fixed per-shard tables (RoPE caches, constants) are well under one layer here; budgets leave room for them.
  const budgets: Array<[number, number]> = [
    [1, 4 * L + H + L],
    [2, 2 * L + H + L / 2],
    [3, 2 * L + L / 2],
  ];

  beforeAll(async () => {
    writeLlavaHfCheckpoint(input, config, weights, 'llava-hf');
    for (const [n, budget] of budgets) {
      const result = await convertCheckpoint({
        input,
        output: path.join(root, `out-${n}`),
        quant: 'fp32',
        shardSize: Math.floor(budget),
      });
      results.set(n, result);
      const model = await ConvertedModel.open(result.dir);
      const ids = prompt(config.image_token_index);
      runs.set(n, {
        ...(await model.greedy(ids, 6, { data: px, size: 32 })),
        prefill: await model.prefill(ids, { data: px, size: 32 }),
      });
      await model.release();
    }
  });

  it('splits into 1, 2 and 3 shards of consecutive layers, each within the byte budget', () => {
    for (const [n, budget] of budgets) {
      const shards = results.get(n)!.shards;
      expect(shards).toHaveLength(n);
      expect(shards[0]!.layers[0]).toBe(0);
      expect(shards.at(-1)!.layers[1]).toBe(4);
      for (let k = 1; k < n; k++) expect(shards[k]!.layers[0]).toBe(shards[k - 1]!.layers[1]);
      for (const s of shards) {
        expect(s.weight_bytes).toBeLessThanOrEqual(budget);
        const dataBytes = s.external_data.reduce(
          (sum, f) => sum + statSync(path.join(results.get(n)!.dir, f)).size,
          0,
        );
        expect(dataBytes).toBeLessThanOrEqual(budget);
      }
      const names = shards.map((s) => s.file);
      expect(names).toEqual(
        n === 1
          ? ['onnx/decoder_model_merged.onnx']
          : names.map((_, k) => `onnx/decoder_shard_${k + 1}_of_${n}.onnx`),
      );
    }
  });

  it('gives the same greedy tokens and logits within 1e-5 whatever the shard count', () => {
    const one = runs.get(1)!;
    const ref = referencePrefill(config, weights, prompt(config.image_token_index), { data: px });
    expect(maxAbsDiff(one.prefill, ref.logits)).toBeLessThan(TOL);
    for (const n of [2, 3]) {
      const r = runs.get(n)!;
      expect(r.tokens).toEqual(one.tokens);
      expect(maxAbsDiff(r.prefill, one.prefill)).toBeLessThan(1e-5);
      r.logits.forEach((l, i) => expect(maxAbsDiff(l, one.logits[i]!)).toBeLessThan(1e-5));
    }
  });

  it('writes a manifest listing every file with its size and sha256, and config.json describing the shards', () => {
    const result = results.get(3)!;
    const manifest = JSON.parse(readFileSync(path.join(result.dir, 'manifest.json'), 'utf8')) as {
      files: Array<{ path: string; size: number; sha256: string }>;
    };
    const listed = manifest.files.map((f) => f.path);
    for (const f of manifest.files) {
      const bytes = readFileSync(path.join(result.dir, f.path));
      expect(bytes.byteLength).toBe(f.size);
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(f.sha256);
    }
    for (const s of result.shards)
      expect(listed).toEqual(expect.arrayContaining([s.file, ...s.external_data]));
    expect(listed).toEqual(
      expect.arrayContaining([
        'config.json',
        'tokenizer.json',
        'tokenizer_config.json',
        'preprocessor_config.json',
        'processor_config.json',
        'generation_config.json',
      ]),
    );
    expect(listed).not.toContain('manifest.json');
    const config = JSON.parse(readFileSync(path.join(result.dir, 'config.json'), 'utf8')) as Record<
      string,
      Record<string, unknown>
    >;
    expect(config.llava_browser).toMatchObject({
      format: 1,
      decoder_dtype: 'fp32',
      decoder_shards: result.shards,
    });
    expect(config['transformers.js_config']!.dtype).toEqual({
      vision_encoder: 'fp32',
      embed_tokens: 'fp32',
      decoder_model_merged: 'fp32',
    });
  });
});

afterAll(removeTempDirs);
