// The committed micro LLaVA: small, sha256-checked, and its ONNX export (through the generator's graph builder)
// computes the same logits as the TF.js model it was trained as.
import { beforeAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import * as tf from '@tensorflow/tfjs-core';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { FIXTURE_DIR, drawScene, microModel, microModelDir } from '../fixtures/micro-model';
import { initTf } from '../../src/training/model/backend';
import { dimsOf } from '../../src/training/model/config';
import { initParams, loadInto } from '../../src/training/model/params';
import { llavaLogits } from '../../src/training/model/forward';
import { sha256Hex } from '../../src/training/model/tensor-file';
import { engineTokenizer } from '../../src/training/model/tokenizer';
import { VICUNA_V1_SYSTEM } from '../../src/engine/prompt';
import { preprocessImage } from '../../src/engine/image-preprocess';
import { parseImagePreprocess } from '../../src/engine/model-config';
import { toRgba } from '../../src/training/data/render';
import { SLOT_CLASSES } from '../../src/training/train/vision-probe';

const micro = microModel();
let dir = '';

beforeAll(async () => {
  await initTf();
  dir = microModelDir();
}, 120_000);

describe('committed micro model', () => {
  it('is under 1 MB and matches its recorded sha256', () => {
    const files = ['micro-llava.bin', 'micro-llava.json', 'micro-llava-tokenizer.json'].map((f) =>
      path.join(FIXTURE_DIR, f),
    );
    const total = files.reduce((s, f) => s + statSync(f).size, 0);
    expect(total).toBeLessThan(1_000_000);
    const index = JSON.parse(readFileSync(files[1]!, 'utf8')) as { sha256: string };
    expect(sha256Hex(readFileSync(files[0]!))).toBe(index.sha256);
    expect(micro.config.text_config.vocab_size).toBe(micro.tokenizer.tokens.length);
  });

  it('exports to ONNX whose logits match the TF.js model within 1e-3', async () => {
    const tok = engineTokenizer(micro.tokenizer, micro.config);
    const text = `${VICUNA_V1_SYSTEM} USER: <image>\nDescribe the image in detail. ASSISTANT: The image shows two shapes`;
    const raw = tok.encode(text, true);
    const at = raw.indexOf(micro.tokenizer.ids.image);
    const ids = [
      ...raw.slice(0, at),
      ...new Array<number>(16).fill(micro.tokenizer.ids.image),
      ...raw.slice(at + 1),
    ];
    const T = ids.length;
    const img = drawScene([
      { slot: 'left', color: 'red', shape: 'circle' },
      { slot: 'right', color: 'blue', shape: 'square' },
    ]);
    const cfg = parseImagePreprocess(
      JSON.parse(readFileSync(path.join(dir, 'preprocessor_config.json'), 'utf8')),
      micro.config,
      32,
    );
    const pixels = preprocessImage({ width: 32, height: 32, data: toRgba(img) }, cfg).data;

    const vision = await ort.InferenceSession.create(path.join(dir, 'onnx/vision_encoder.onnx'));
    const embed = await ort.InferenceSession.create(path.join(dir, 'onnx/embed_tokens.onnx'));
    const decoder = await ort.InferenceSession.create(path.join(dir, 'onnx/decoder_model_merged.onnx'));
    const feats = (await vision.run({ pixel_values: new ort.Tensor('float32', pixels, [1, 3, 32, 32]) }))
      .image_features!;
    const emb = (
      await embed.run({ input_ids: new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, T]) })
    ).inputs_embeds!;
    const D = micro.config.text_config.hidden_size;
    const merged = Float32Array.from(emb.data as Float32Array);
    merged.set(feats.data as Float32Array, at * D);
    const d = dimsOf(micro.config);
    const feeds: Record<string, ort.Tensor> = {
      inputs_embeds: new ort.Tensor('float32', merged, [1, T, D]),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(T).fill(1n), [1, T]),
      position_ids: new ort.Tensor('int64', BigInt64Array.from(ids.map((_, i) => BigInt(i))), [1, T]),
    };
    if (decoder.inputNames.includes('num_logits_to_keep'))
      feeds.num_logits_to_keep = new ort.Tensor('int64', [0n], []);
    for (const name of decoder.inputNames.filter((n) => n.startsWith('past_key_values.'))) {
      feeds[name] = new ort.Tensor('float32', new Float32Array(0), [1, d.kvHeads, 0, d.headDim]);
    }
    const onnxLogits = (await decoder.run(feeds)).logits!.data as Float32Array;

    const params = initParams(micro.config, SLOT_CLASSES, 0);
    loadInto(params, micro.weights);
    const placement = new Float32Array(T * 16);
    for (let j = 0; j < 16; j++) placement[(at + j) * 16 + j] = 1;
    const tfLogits = tf.tidy(() =>
      llavaLogits(params, d, {
        ids: tf.tensor2d(Int32Array.from(ids), [1, T], 'int32'),
        pixels: tf.tensor4d(pixels, [1, 3, 32, 32]),
        placement: tf.tensor3d(placement, [1, T, 16]),
      }).dataSync(),
    );
    params.dispose();
    expect(onnxLogits.length).toBe(T * micro.config.text_config.vocab_size);
    let maxDiff = 0;
    for (let i = 0; i < onnxLogits.length; i++)
      maxDiff = Math.max(maxDiff, Math.abs(onnxLogits[i]! - tfLogits[i]!));
    expect(maxDiff).toBeLessThan(1e-3);
    // The logits are not trivially equal because both are flat: the model really distinguishes the next tokens.
    const last = onnxLogits.subarray((T - 1) * d.vocab, T * d.vocab);
    expect(Math.max(...last) - Math.min(...last)).toBeGreaterThan(5);
  });
});
