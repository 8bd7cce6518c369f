// Runs the generated vision encoders in onnxruntime-node: output shapes for CLIP and SigLIP, CLS dropped by the
// 'default' strategy, the hidden state picked by vision_feature_layer (and only the layers it needs), batch independence.
import { describe, expect, it } from 'vitest';
import { getPreset } from '../../src/modelgen/llava/presets';
import { createRandomWeights } from '../../src/modelgen/llava/random-weights';
import type { LlavaHfConfig } from '../../src/modelgen/llava/types';
import { buildVisionEncoder } from '../../src/modelgen/llava/vision-graph';
import { decodeModel } from '../../src/modelgen/onnx/codec';
import { serializeModel } from '../../src/modelgen/onnx/serialize';
import { f32, maxAbsDiff, sessionOf } from './modelgen-helpers';

function image(batch: number, size: number, seed: number): Float32Array {
  return new Float32Array(batch * 3 * size * size).map((_, i) => Math.sin(i * 0.37 + seed) * 1.5);
}

async function features(
  config: LlavaHfConfig,
  weights: ReturnType<typeof createRandomWeights>,
  px: Float32Array,
  batch: number,
) {
  const s = await sessionOf(buildVisionEncoder(config, weights));
  const size = config.vision_config.image_size;
  const out = await s.run({ pixel_values: f32(px, [batch, 3, size, size]) });
  return out.image_features!;
}

describe('vision encoder graph', () => {
  const clip = getPreset('tiny');
  const clipWeights = createRandomWeights(clip, 2);
  const siglip = getPreset('tiny-qwen-siglip');
  const siglipWeights = createRandomWeights(siglip, 2);

  it('maps [B, 3, 32, 32] to [B, 16, text_hidden] for CLIP (CLS dropped) and SigLIP (no CLS, full strategy)', async () => {
    expect((await features(clip, clipWeights, image(2, 32, 0), 2)).dims).toEqual([2, 16, 64]);
    expect((await features(siglip, siglipWeights, image(3, 32, 0), 3)).dims).toEqual([3, 16, 64]);
  });

  it("drops exactly the CLS row: 'full' keeps 17 rows whose last 16 equal the 'default' output", async () => {
    const full = { ...getPreset('tiny'), vision_feature_select_strategy: 'full' as const };
    const px = image(1, 32, 1);
    const withCls = await features(full, clipWeights, px, 1);
    const without = await features(clip, clipWeights, px, 1);
    expect(withCls.dims).toEqual([1, 17, 64]);
    expect(maxAbsDiff((withCls.data as Float32Array).subarray(64), without.data as Float32Array)).toBe(0);
  });

  it('selects hidden_states[vision_feature_layer]: -2 equals layer 2 of 3, differs from -1, and builds only L-1 layers', async () => {
    const px = image(1, 32, 2);
    const minus2 = await features(clip, clipWeights, px, 1);
    const two = await features({ ...clip, vision_feature_layer: 2 }, clipWeights, px, 1);
    const minus1 = await features({ ...clip, vision_feature_layer: -1 }, clipWeights, px, 1);
    expect(maxAbsDiff(minus2.data as Float32Array, two.data as Float32Array)).toBe(0);
    expect(maxAbsDiff(minus2.data as Float32Array, minus1.data as Float32Array)).toBeGreaterThan(1e-2);

    const model = decodeModel(serializeModel(buildVisionEncoder(clip, clipWeights), 'v.onnx')[0]!.bytes);
    const lns = model.graph.node.filter((n) => n.opType === 'LayerNormalization').length;
    expect(lns).toBe(1 + 2 * (clip.vision_config.num_hidden_layers - 1)); // pre_layrnorm + 2 per layer used
    const names = model.graph.initializer.map((t) => t.name);
    expect(names.some((n) => n.includes('encoder.layers.2.'))).toBe(false);
    expect(names.some((n) => n.includes('post_layernorm'))).toBe(false);
  });

  it('encodes each image of a batch independently', async () => {
    const a = image(1, 32, 3);
    const b = image(1, 32, 4);
    const both = new Float32Array(a.length * 2);
    both.set(a);
    both.set(b, a.length);
    for (const [config, weights] of [
      [clip, clipWeights],
      [siglip, siglipWeights],
    ] as const) {
      const batch = (await features(config, weights, both, 2)).data as Float32Array;
      const one = (await features(config, weights, b, 1)).data as Float32Array;
      expect(maxAbsDiff(batch.subarray(batch.length / 2), one)).toBeLessThanOrEqual(1e-5);
    }
  });

  it("applies mm_projector_type 'linear' as linear_1 alone", async () => {
    const linearConfig: LlavaHfConfig = { ...clip, mm_projector_type: 'linear' };
    const model = decodeModel(
      serializeModel(buildVisionEncoder(linearConfig, clipWeights), 'v.onnx')[0]!.bytes,
    );
    const names = model.graph.initializer.map((t) => t.name);
    expect(names).toContain('multi_modal_projector.linear_1.weight');
    expect(names).not.toContain('multi_modal_projector.linear_2.weight');
    expect(model.graph.node.some((n) => n.opType === 'Erf')).toBe(false);
  });
});
