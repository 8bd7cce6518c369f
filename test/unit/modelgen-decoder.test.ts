// Runs the generated decoder graphs in onnxruntime-node: KV-cache decoding equals full recompute, left padding equals
// unpadded runs, layer-range shards chain to the whole decoder, num_logits_to_keep, tied lm_head, declared I/O.
import { describe, expect, it } from 'vitest';
import {
  buildDecoder,
  DECODER_HIDDEN_INPUT,
  DECODER_HIDDEN_OUTPUT,
} from '../../src/modelgen/llava/decoder-graph';
import { getPreset, type PresetName } from '../../src/modelgen/llava/presets';
import { createRandomWeights } from '../../src/modelgen/llava/random-weights';
import { decodeModel } from '../../src/modelgen/onnx/codec';
import { serializeModel } from '../../src/modelgen/onnx/serialize';
import {
  emptyPast,
  f32,
  i64,
  maxAbsDiff,
  noise,
  pastFrom,
  positionIdsFor,
  rows,
  sessionOf,
  type Feeds,
} from './modelgen-helpers';

const PRESETS: PresetName[] = ['tiny', 'tiny-qwen-siglip'];

describe.each(PRESETS)('decoder graph (%s)', (preset) => {
  const config = getPreset(preset);
  const weights = createRandomWeights(config, 7);
  const D = config.text_config.hidden_size;
  const V = config.text_config.vocab_size;
  const L = config.text_config.num_hidden_layers;
  const keepAll = i64([0], []);

  it('decodes with a KV cache exactly as a full recompute (prefill 4, then 3 single steps)', async () => {
    const s = await sessionOf(buildDecoder(config, weights));
    const T = 7;
    const embeds = noise(T * D, 11);
    const full = await s.run({
      inputs_embeds: f32(embeds, [1, T, D]),
      attention_mask: i64(Array(T).fill(1), [1, T]),
      position_ids: i64([0, 1, 2, 3, 4, 5, 6], [1, T]),
      num_logits_to_keep: keepAll,
      ...emptyPast(config, 1),
    });
    expect(full.logits?.dims).toEqual([1, T, V]);
    let step = await s.run({
      inputs_embeds: f32(embeds.slice(0, 4 * D), [1, 4, D]),
      attention_mask: i64([1, 1, 1, 1], [1, 4]),
      position_ids: i64([0, 1, 2, 3], [1, 4]),
      num_logits_to_keep: keepAll,
      ...emptyPast(config, 1),
    });
    expect(maxAbsDiff(rows(step.logits, 0, 0, 4), rows(full.logits, 0, 0, 4))).toBeLessThanOrEqual(1e-5);
    for (let t = 4; t < T; t++) {
      step = await s.run({
        inputs_embeds: f32(embeds.slice(t * D, (t + 1) * D), [1, 1, D]),
        attention_mask: i64(Array(t + 1).fill(1), [1, t + 1]),
        position_ids: i64([t], [1, 1]),
        num_logits_to_keep: i64([1], []),
        ...pastFrom(step),
      });
      expect(step['present.0.key']?.dims).toEqual([1, config.text_config.num_key_value_heads, t + 1, 16]);
      expect(maxAbsDiff(rows(step.logits, 0, 0, 1), rows(full.logits, 0, t, t + 1))).toBeLessThanOrEqual(
        1e-5,
      );
    }
  });

  it('gives a left-padded batch row the same logits as the same sequence unpadded, in prefill and decode', async () => {
    const s = await sessionOf(buildDecoder(config, weights));
    const a = noise(6 * D, 21);
    const b = noise(3 * D, 22);
    const single = async (
      embeds: Float32Array,
      n: number,
      next: Float32Array,
    ): Promise<[Float32Array, Float32Array]> => {
      const pre = await s.run({
        inputs_embeds: f32(embeds, [1, n, D]),
        attention_mask: i64(Array(n).fill(1), [1, n]),
        position_ids: i64([...Array(n).keys()], [1, n]),
        num_logits_to_keep: keepAll,
        ...emptyPast(config, 1),
      });
      const dec = await s.run({
        inputs_embeds: f32(next, [1, 1, D]),
        attention_mask: i64(Array(n + 1).fill(1), [1, n + 1]),
        position_ids: i64([n], [1, 1]),
        num_logits_to_keep: keepAll,
        ...pastFrom(pre),
      });
      return [rows(pre.logits, 0, 0, n), rows(dec.logits, 0, 0, 1)];
    };
    const nextA = noise(D, 31);
    const nextB = noise(D, 32);
    const [preA, decA] = await single(a, 6, nextA);
    const [preB, decB] = await single(b, 3, nextB);

    const padded = new Float32Array(2 * 6 * D);
    padded.set(a, 0);
    padded.set(noise(3 * D, 99), 6 * D); // padding embeddings: arbitrary, must not matter
    padded.set(b, 9 * D);
    const mask = [
      [1, 1, 1, 1, 1, 1],
      [0, 0, 0, 1, 1, 1],
    ];
    const pre = await s.run({
      inputs_embeds: f32(padded, [2, 6, D]),
      attention_mask: i64(mask.flat(), [2, 6]),
      position_ids: i64(positionIdsFor(mask), [2, 6]),
      num_logits_to_keep: keepAll,
      ...emptyPast(config, 2),
    });
    expect(maxAbsDiff(rows(pre.logits, 0, 0, 6), preA)).toBeLessThanOrEqual(1e-5);
    expect(maxAbsDiff(rows(pre.logits, 1, 3, 6), preB)).toBeLessThanOrEqual(1e-5);
    const next = new Float32Array(2 * D);
    next.set(nextA, 0);
    next.set(nextB, D);
    const dec = await s.run({
      inputs_embeds: f32(next, [2, 1, D]),
      attention_mask: i64([...mask[0]!, 1, ...mask[1]!, 1], [2, 7]),
      position_ids: i64([6, 3], [2, 1]),
      num_logits_to_keep: keepAll,
      ...pastFrom(pre),
    });
    expect(maxAbsDiff(rows(dec.logits, 0, 0, 1), decA)).toBeLessThanOrEqual(1e-5);
    expect(maxAbsDiff(rows(dec.logits, 1, 0, 1), decB)).toBeLessThanOrEqual(1e-5);
  });

  it('splits into layer-range shards whose chain equals the whole decoder (prefill and a cached step)', async () => {
    const whole = await sessionOf(buildDecoder(config, weights));
    const first = await sessionOf(buildDecoder(config, weights, { layers: [0, 1], output: 'hidden_states' }));
    const last = await sessionOf(buildDecoder(config, weights, { layers: [1, L], input: 'hidden_states' }));
    expect(first.inputNames).not.toContain('past_key_values.1.key');
    expect(last.inputNames).toContain('past_key_values.1.key');
    expect(last.inputNames).not.toContain('past_key_values.0.key');
    expect(first.outputNames).toContain(DECODER_HIDDEN_OUTPUT);
    expect(last.inputNames).toContain(DECODER_HIDDEN_INPUT);

    const chain = async (
      embeds: Float32Array,
      n: number,
      mask: number[],
      pos: number[],
      past: Feeds,
    ): Promise<Feeds> => {
      const common = { attention_mask: i64(mask, [1, mask.length]), position_ids: i64(pos, [1, n]) };
      const a = await first.run({
        inputs_embeds: f32(embeds, [1, n, D]),
        ...common,
        ...pickPast(past, 0, 1),
      });
      const h = a[DECODER_HIDDEN_OUTPUT];
      if (h === undefined) throw new Error('no hidden states');
      const b = await last.run({
        [DECODER_HIDDEN_INPUT]: h,
        ...common,
        num_logits_to_keep: keepAll,
        ...pickPast(past, 1, L),
      });
      return { ...a, ...b } as Feeds;
    };
    const embeds = noise(5 * D, 41);
    const ref = await whole.run({
      inputs_embeds: f32(embeds, [1, 5, D]),
      attention_mask: i64([1, 1, 1, 1, 1], [1, 5]),
      position_ids: i64([0, 1, 2, 3, 4], [1, 5]),
      num_logits_to_keep: keepAll,
      ...emptyPast(config, 1),
    });
    const got = await chain(embeds, 5, [1, 1, 1, 1, 1], [0, 1, 2, 3, 4], emptyPast(config, 1));
    expect(maxAbsDiff(rows(got.logits, 0, 0, 5), rows(ref.logits, 0, 0, 5))).toBeLessThanOrEqual(1e-5);
    for (let i = 0; i < L; i++) {
      expect(
        maxAbsDiff(
          got[`present.${i}.key`]!.data as Float32Array,
          ref[`present.${i}.key`]!.data as Float32Array,
        ),
      ).toBeLessThanOrEqual(1e-6);
    }
    const next = noise(D, 42);
    const refStep = await whole.run({
      inputs_embeds: f32(next, [1, 1, D]),
      attention_mask: i64([1, 1, 1, 1, 1, 1], [1, 6]),
      position_ids: i64([5], [1, 1]),
      num_logits_to_keep: keepAll,
      ...pastFrom(ref),
    });
    const gotStep = await chain(next, 1, [1, 1, 1, 1, 1, 1], [5], pastFrom(got));
    expect(maxAbsDiff(rows(gotStep.logits, 0, 0, 1), rows(refStep.logits, 0, 0, 1))).toBeLessThanOrEqual(
      1e-5,
    );
  });

  it('keeps only the last N positions of logits when num_logits_to_keep = N (0 keeps all)', async () => {
    const s = await sessionOf(buildDecoder(config, weights));
    const feeds = {
      inputs_embeds: f32(noise(5 * D, 51), [1, 5, D]),
      attention_mask: i64([1, 1, 1, 1, 1], [1, 5]),
      position_ids: i64([0, 1, 2, 3, 4], [1, 5]),
      ...emptyPast(config, 1),
    };
    const all = await s.run({ ...feeds, num_logits_to_keep: keepAll });
    const two = await s.run({ ...feeds, num_logits_to_keep: i64([2], []) });
    expect(all.logits?.dims).toEqual([1, 5, V]);
    expect(two.logits?.dims).toEqual([1, 2, V]);
    expect(maxAbsDiff(rows(two.logits, 0, 0, 2), rows(all.logits, 0, 3, 5))).toBe(0);
  });
});

describe('decoder graph declarations', () => {
  const config = getPreset('tiny');
  const weights = createRandomWeights(config, 7);

  it('declares transformers.js-compatible inputs and outputs, with numeric kv heads and head_dim in the cache', () => {
    const [file] = serializeModel(buildDecoder(config, weights), 'decoder_model_merged.onnx');
    const model = decodeModel(file!.bytes);
    expect(model.irVersion).toBe(8);
    expect(model.opsetImport).toContainEqual({ domain: '', version: 17 });
    const dims = (name: string): Array<number | string | undefined> => {
      const vi = [...model.graph.input, ...model.graph.output].find((v) => v.name === name);
      return (vi?.type.tensorType.shape?.dim ?? []).map((d) => d.dimValue ?? d.dimParam);
    };
    expect(model.graph.input.map((v) => v.name)).toEqual([
      'inputs_embeds',
      'attention_mask',
      'position_ids',
      'past_key_values.0.key',
      'past_key_values.0.value',
      'past_key_values.1.key',
      'past_key_values.1.value',
      'num_logits_to_keep',
    ]);
    expect(dims('past_key_values.1.value')).toEqual(['batch_size', 2, 'past_sequence_length', 16]);
    expect(dims('present.0.key')).toEqual(['batch_size', 2, 'total_sequence_length', 16]);
    expect(dims('num_logits_to_keep')).toEqual([]);
    expect(dims('inputs_embeds')).toEqual(['batch_size', 'sequence_length', 64]);
    expect(dims('logits')).toEqual(['batch_size', 'logits_length', 512]);
    expect(model.graph.output.map((v) => v.name)).toContain('logits');
  });

  it('omits num_logits_to_keep when asked', async () => {
    const s = await sessionOf(buildDecoder(config, weights, { numLogitsToKeep: false }));
    expect(s.inputNames).not.toContain('num_logits_to_keep');
  });

  it('ties lm_head to embed_tokens when tie_word_embeddings is set and no lm_head weight exists', async () => {
    const tiedConfig = getPreset('tiny');
    tiedConfig.text_config.tie_word_embeddings = true;
    const tiedWeights = new Map(weights);
    tiedWeights.delete('language_model.lm_head.weight');
    const copied = new Map(weights);
    copied.set('language_model.lm_head.weight', weights.get('language_model.model.embed_tokens.weight')!);
    const feeds = {
      inputs_embeds: f32(noise(3 * 64, 61), [1, 3, 64]),
      attention_mask: i64([1, 1, 1], [1, 3]),
      position_ids: i64([0, 1, 2], [1, 3]),
      num_logits_to_keep: i64([0], []),
      ...emptyPast(config, 1),
    };
    const tied = await (await sessionOf(buildDecoder(tiedConfig, tiedWeights))).run(feeds);
    const explicit = await (await sessionOf(buildDecoder(config, copied))).run(feeds);
    const untied = await (await sessionOf(buildDecoder(config, weights))).run(feeds);
    expect(maxAbsDiff(tied.logits!.data as Float32Array, explicit.logits!.data as Float32Array)).toBe(0);
    expect(
      maxAbsDiff(tied.logits!.data as Float32Array, untied.logits!.data as Float32Array),
    ).toBeGreaterThan(0.1);
  });

  it('rejects a layer range outside the model', () => {
    expect(() => buildDecoder(config, weights, { layers: [1, 3] })).toThrow(/layer range/);
  });
});

function pickPast(past: Feeds, start: number, end: number): Feeds {
  const out: Feeds = {};
  for (let i = start; i < end; i++) {
    for (const kind of ['key', 'value']) {
      const t = past[`past_key_values.${i}.${kind}`];
      if (t === undefined) throw new Error(`missing past ${i}`);
      out[`past_key_values.${i}.${kind}`] = t;
    }
  }
  return out;
}
