// The engine runs converted models: a decoder split into 3 shards chats (greedy, with an image, over two turns that
// reuse the KV cache) exactly like the same checkpoint converted into one decoder file, in fp32 and q4; shard
// sessions are asked to keep hidden states and KV on the device when the backend says so.
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDecoderAwareSession } from '../../src/engine/decoder-shards';
import { parseDecoderShards } from '../../src/shared/model-layout';
import type { BackendDescriptor, OrtRuntime, SessionOptions } from '../../src/engine/runtime';
import { ShardedSession } from '../../src/engine/sharded-session';
import { convertCheckpoint } from '../../src/modelgen/convert/convert';
import { decoderHeadBytes, decoderLayerBytes } from '../../src/modelgen/convert/shard-plan';
import { getPreset } from '../../src/modelgen/llava/presets';
import { createRandomWeights } from '../../src/modelgen/llava/random-weights';
import { folderSource } from '../../src/node/folder-source';
import type { ChatMessage, EngineApi } from '../../src/shared/protocol';
import { removeTempDirs, tempDir, writeLlavaHfCheckpoint } from './convert-helpers';
import { CPU_BACKEND, folderEngine, imageQuestion, picture } from './engine-helpers';

const config = getPreset('tiny');
config.text_config.num_hidden_layers = 4;
const weights = createRandomWeights(config, 5);
const root = tempDir('engine');
const dirs = new Map<string, string>();

beforeAll(async () => {
  const input = path.join(root, 'ckpt');
  writeLlavaHfCheckpoint(input, config, weights, 'llava-hf');
  for (const quant of ['fp32', 'q4'] as const) {
    const L = decoderLayerBytes(config, quant);
    const H = decoderHeadBytes(config, quant);
    // Budgets: everything in one file, or about 1.5 layers (plus the per-shard tables) per shard.
    for (const [n, budget] of [
      [1, 1e9],
      [3, 90_000 + 2 * L],
    ] as const) {
      const result = await convertCheckpoint({
        input,
        output: path.join(root, `${quant}-${n}`),
        quant,
        shardSize: Math.floor(budget),
      });
      expect(result.shards.length, `${quant} ${H}`).toBe(n);
      dirs.set(`${quant}-${n}`, result.dir);
    }
  }
});

afterAll(removeTempDirs);

async function conversation(dir: string): Promise<{ answers: string[]; reused: number; dtype: string }> {
  const engine: EngineApi = folderEngine(dir);
  await engine.load({ kind: 'local', id: 'converted' });
  const sampling = { temperature: 0, maxNewTokens: 10 };
  const first: ChatMessage[] = [imageQuestion(picture(48, 40, 3), 'What is in the picture?')];
  const a = await engine.chat({ messages: first, sampling, conversationId: 'c' });
  const second: ChatMessage[] = [...first, a.message, { role: 'user', content: 'And the colours?' }];
  const b = await engine.chat({ messages: second, sampling, conversationId: 'c' });
  const status = await engine.status();
  await engine.unload();
  return {
    answers: [a.message.content as string, b.message.content as string],
    reused: b.usage.reusedPromptTokens ?? 0,
    dtype: status.model?.dtype.decoder_model_merged ?? '',
  };
}

describe('engine over converted folders', () => {
  it.each(['fp32', 'q4'])(
    'chats the same through 3 decoder shards as through one file (%s)',
    async (quant) => {
      const one = await conversation(dirs.get(`${quant}-1`)!);
      const three = await conversation(dirs.get(`${quant}-3`)!);
      expect(one.answers[0]!.length).toBeGreaterThan(0);
      expect(three.answers).toEqual(one.answers);
      expect(three.dtype).toBe(quant);
      // The follow-up reused the first turn's cache, held per shard.
      expect(three.reused).toBeGreaterThan(16);
      expect(three.reused).toBe(one.reused);
    },
  );

  it('chains the shards in one ShardedSession exposing the whole decoder’s inputs and outputs', async () => {
    const dir = dirs.get('fp32-3')!;
    const loaded = await createDecoderAwareSession({
      ort,
      source: folderSource(dir),
      backend: CPU_BACKEND,
      component: 'decoder_model_merged',
      candidates: ['fp32'],
      externalData: null,
    });
    const session = loaded.session as ShardedSession;
    expect(session).toBeInstanceOf(ShardedSession);
    expect(session.shardCount).toBe(3);
    const pasts = session.inputNames.filter((n) => n.startsWith('past_key_values.'));
    expect(pasts).toHaveLength(8);
    expect(session.inputNames).toEqual(
      expect.arrayContaining(['inputs_embeds', 'attention_mask', 'position_ids', 'num_logits_to_keep']),
    );
    expect(session.inputNames).not.toContain('hidden_states');
    expect(session.outputNames).toContain('logits');
    expect(session.outputNames).not.toContain('hidden_states_out');
    await session.release();
  });

  it('asks every shard to keep its KV and hidden states on the device when the backend keeps KV there', async () => {
    const dir = dirs.get('q4-3')!;
    const seen: SessionOptions[] = [];
    // onnxruntime-node has no GPU buffers: record what the engine asks for, then create the session on the CPU.
    const recording: OrtRuntime = {
      Tensor: ort.Tensor,
      InferenceSession: {
        create: (async (model: string, options: SessionOptions) => {
          seen.push(options);
          const { preferredOutputLocation: _gpu, ...cpu } = options;
          return ort.InferenceSession.create(model, cpu);
        }) as unknown as OrtRuntime['InferenceSession']['create'],
      },
    };
    const gpuLike: BackendDescriptor = { ...CPU_BACKEND, keepKvOnDevice: true };
    const requested: Record<string, 'gpu-buffer'> = {};
    for (let i = 0; i < 4; i++)
      requested[`present.${i}.key`] = requested[`present.${i}.value`] = 'gpu-buffer';
    const loaded = await createDecoderAwareSession({
      ort: recording,
      source: folderSource(dir),
      backend: gpuLike,
      component: 'decoder_model_merged',
      candidates: ['q4'],
      externalData: null,
      options: { preferredOutputLocation: requested },
    });
    const shards = parseDecoderShards(
      JSON.parse(new TextDecoder().decode(await folderSource(dir).read('config.json'))) as unknown,
    )!.shards;
    expect(seen).toHaveLength(3);
    seen.forEach((options, k) => {
      const expected: Record<string, string> = {};
      for (let i = shards[k]!.layers[0]; i < shards[k]!.layers[1]; i++)
        expected[`present.${i}.key`] = expected[`present.${i}.value`] = 'gpu-buffer';
      if (k < 2) expected.hidden_states_out = 'gpu-buffer';
      expect(options.preferredOutputLocation).toEqual(expected);
    });
    await loaded.session.release();
  });

  it('treats a single-shard folder as an ordinary model and refuses a newer shard format', () => {
    expect(
      parseDecoderShards({
        llava_browser: {
          format: 1,
          decoder_dtype: 'q4',
          decoder_shards: [{ file: 'onnx/decoder_model_merged_q4.onnx', layers: [0, 4] }],
        },
      }),
    ).toBeNull();
    expect(parseDecoderShards({ model_type: 'llava' })).toBeNull();
    expect(() =>
      parseDecoderShards({ llava_browser: { format: 2, decoder_dtype: 'q4', decoder_shards: [] } }),
    ).toThrow(/newer/);
    expect(() =>
      parseDecoderShards({
        llava_browser: {
          format: 1,
          decoder_dtype: 'q4',
          decoder_shards: [
            { file: 'a', layers: [0, 2] },
            { file: 'b', layers: [3, 4] },
          ],
        },
      }),
    ).toThrow(/out of layer order/);
  });
});
