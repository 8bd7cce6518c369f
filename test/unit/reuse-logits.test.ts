// Only the last position's logits leave the decoder: through num_logits_to_keep when the graph has it, and by running
// the prompt's last row on its own (earlier rows fetch no logits) when it does not. Both must give the same logits and
// tokens as each other.
import { describe, expect, it } from 'vitest';
import { Decoder } from '../../src/engine/decoder';
import { generateTurn } from '../../src/engine/generate';
import { ConversationKv } from '../../src/engine/kv-cache';
import { preprocessImage } from '../../src/engine/image-preprocess';
import { loadModel } from '../../src/engine/model-loader';
import { Sampler, samplerSettings } from '../../src/engine/sampler';
import { buildTurnInput } from '../../src/engine/turn-input';
import { buildDecoder } from '../../src/modelgen/llava/decoder-graph';
import { serializeModel } from '../../src/modelgen/onnx/serialize';
import { folderSource } from '../../src/node/folder-source';
import { getTinyModel } from '../fixtures/tiny-model';
import { CPU_BACKEND, imageQuestion, picture } from './engine-helpers';
import { countedEngine, countingOrt } from './reuse-helpers';

describe('last-position logits (tiny)', () => {
  it('the engine never gets more than one row of logits back, prefill included', async () => {
    const { engine, log } = await countedEngine(getTinyModel('tiny').dir);
    const r = await engine.chat({
      messages: [imageQuestion(picture(32, 32, 2), 'What is this?')],
      sampling: { maxNewTokens: 5 },
    });
    expect(r.usage.promptTokens).toBeGreaterThan(20);
    expect(log.logitDims.length).toBe(log.runs.decoder);
    for (const dims of log.logitDims) expect(dims).toEqual([1, 1, 512]);
  });

  it('a decoder without num_logits_to_keep returns only the last row and matches the one with it', async () => {
    const { dir, config, weights } = getTinyModel('tiny');
    const { ort, log } = countingOrt();
    const model = await loadModel({ ort, source: folderSource(dir), backend: CPU_BACKEND, dtype: 'fp32' });
    expect(model.decoder.keepsLastLogitsOnly).toBe(true);
    const files = serializeModel(buildDecoder(config, weights, { numLogitsToKeep: false }), 'decoder.onnx', {
      externalData: 'never',
    });
    const session = await ort.InferenceSession.create(files[0]?.bytes as Uint8Array);
    const embedSession = await ort.InferenceSession.create(`${dir}/onnx/embed_tokens.onnx`);
    const plain = new Decoder(ort, embedSession, session, {
      numKeyValueHeads: config.text_config.num_key_value_heads,
      headDim: config.text_config.hidden_size / config.text_config.num_attention_heads,
      hiddenSize: config.text_config.hidden_size,
    });
    expect(plain.keepsLastLogitsOnly).toBe(false);

    const image = picture(40, 24, 4);
    const input = await buildTurnInput(
      model,
      [imageQuestion(image, 'Describe it.')],
      'model',
      [preprocessImage(image, model.config.image)],
      null,
    );
    const run = async (decoder: Decoder) => {
      const rowsBefore = log.logitDims.length;
      let first: Float32Array | null = null;
      const r = await generateTurn(
        ort,
        decoder,
        config.text_config.hidden_size,
        new ConversationKv(),
        input,
        {
          sampler: new Sampler(samplerSettings({})),
          maxNewTokens: 8,
          eosIds: new Set<number>(),
          stops: [],
          contextLength: 512,
          decode: model.tokenizer.decode,
          onText: () => undefined,
          now: () => 0,
          startedAt: 0,
          onLogits: (l, step) => {
            if (step === 0) first = l.slice();
          },
        },
      );
      return { ids: r.ids, first: first as Float32Array | null, dims: log.logitDims.slice(rowsBefore) };
    };
    const kept = await run(model.decoder);
    const cut = await run(plain);
    expect(cut.ids).toEqual(kept.ids);
    expect(cut.ids.length).toBe(8);
    let diff = 0;
    for (let i = 0; i < 512; i++)
      diff = Math.max(diff, Math.abs((cut.first?.[i] ?? NaN) - (kept.first?.[i] ?? NaN)));
    expect(diff).toBeLessThan(1e-4);
    // The prompt's rows before the last fetched no logits; every run that did returned one row.
    for (const dims of [...kept.dims, ...cut.dims]) expect(dims).toEqual([1, 1, 512]);
    expect(cut.dims.length).toBe(8);
    await plain.release();
    await model.release();
  });
});
