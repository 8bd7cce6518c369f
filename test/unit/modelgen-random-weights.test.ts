// Checks the seeded random checkpoints: deterministic per (config, seed), complete for the graphs, roughly normal,
// and lively enough that greedy decoding of the tiny presets wanders over many tokens instead of repeating one.
import { describe, expect, it } from 'vitest';
import { buildDecoder } from '../../src/modelgen/llava/decoder-graph';
import { buildEmbedTokens } from '../../src/modelgen/llava/embed-graph';
import { getPreset, PRESET_NAMES } from '../../src/modelgen/llava/presets';
import { createRandomWeights, fillNormal } from '../../src/modelgen/llava/random-weights';
import { listWeights, llavaDims } from '../../src/modelgen/llava/weight-spec';
import { argmaxRows, emptyPast, i64, pastFrom, sessionOf } from './modelgen-helpers';

describe('random weights', () => {
  it('are bit-identical for the same seed and differ for another seed', () => {
    const config = getPreset('tiny');
    const a = createRandomWeights(config, 1);
    const b = createRandomWeights(config, 1);
    const c = createRandomWeights(config, 2);
    expect([...a.keys()]).toEqual(listWeights(config).map((s) => s.name));
    const bytes = (x: Float32Array): Buffer => Buffer.from(x.buffer, x.byteOffset, x.byteLength);
    for (const [name, t] of a) {
      expect(Buffer.compare(bytes(b.get(name)!.data), bytes(t.data)), name).toBe(0);
      expect(Buffer.compare(bytes(c.get(name)!.data), bytes(t.data)), name).not.toBe(0);
    }
  });

  it('draw roughly standard-normal values', () => {
    const v = fillNormal(new Float32Array(200_000), 42);
    let mean = 0;
    for (const x of v) mean += x;
    mean /= v.length;
    let variance = 0;
    let beyond2 = 0;
    for (const x of v) {
      variance += (x - mean) ** 2;
      if (Math.abs(x) > 2) beyond2++;
    }
    variance /= v.length;
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(Math.abs(variance - 1)).toBeLessThan(0.02);
    expect(beyond2 / v.length).toBeCloseTo(0.0455, 2);
  });

  it('list every preset tensor with the shapes the config implies', () => {
    for (const name of PRESET_NAMES) {
      const config = getPreset(name);
      const d = llavaDims(config);
      const specs = new Map(listWeights(config).map((s) => [s.name, s.dims]));
      expect(specs.get('language_model.model.embed_tokens.weight')).toEqual([d.vocab, d.textHidden]);
      expect(specs.get(`language_model.model.layers.${d.textLayers - 1}.self_attn.k_proj.weight`)).toEqual([
        d.kvHeads * d.headDim,
        d.textHidden,
      ]);
      expect(specs.get('vision_tower.vision_model.embeddings.position_embedding.weight')).toEqual([
        d.numPatches + (d.hasClassToken ? 1 : 0),
        d.visionHidden,
      ]);
      expect(config.image_token_index).toBe(d.vocab - 2);
      expect(config.pad_token_id).toBe(d.vocab - 1);
    }
  });

  it.each(['tiny', 'tiny-qwen-siglip'] as const)(
    'make greedy decoding of %s produce varied tokens',
    async (preset) => {
      const config = getPreset(preset);
      const weights = createRandomWeights(config, 0);
      const embed = await sessionOf(buildEmbedTokens(config, weights));
      const decoder = await sessionOf(buildDecoder(config, weights));
      const V = config.text_config.vocab_size;
      let ids = [1, 17, 42, 99, 7];
      let past = emptyPast(config, 1);
      let total = 0;
      const generated: number[] = [];
      for (let step = 0; step < 24; step++) {
        const embeds = (await embed.run({ input_ids: i64(ids, [1, ids.length]) })).inputs_embeds!;
        total += ids.length;
        const out = await decoder.run({
          inputs_embeds: embeds,
          attention_mask: i64(Array(total).fill(1), [1, total]),
          position_ids: i64(
            ids.map((_, i) => total - ids.length + i),
            [1, ids.length],
          ),
          num_logits_to_keep: i64([1], []),
          ...past,
        });
        const [next] = argmaxRows(out.logits!.data as Float32Array, V);
        generated.push(next!);
        ids = [next!];
        past = pastFrom(out);
      }
      expect(new Set(generated).size).toBeGreaterThanOrEqual(6);
    },
  );
});
