// GPU buffer limits (docs/browser-limits.md, "Large models"): every weight of a model is measured from its protobuf (the same sizes the ONNX
// decoder sees, external data included) and a model with a weight over the backend's limit is refused with
// EngineError 'unsupported' before its session exists, releasing what was built and naming the tensor.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oversizedTensors, tensorLimit } from '../../src/engine/buffer-limits';
import { createDecoderAwareSession } from '../../src/engine/decoder-shards';
import { createEngine } from '../../src/engine/engine';
import type { ModelSource } from '../../src/shared/model-source';
import { onnxTensorSizes } from '../../src/engine/onnx-tensor-sizes';
import type { BackendDescriptor, OrtRuntime } from '../../src/engine/runtime';
import { convertCheckpoint } from '../../src/modelgen/convert/convert';
import { decoderLayerBytes } from '../../src/modelgen/convert/shard-plan';
import { getPreset } from '../../src/modelgen/llava/presets';
import { createRandomWeights } from '../../src/modelgen/llava/random-weights';
import { decodeModel } from '../../src/modelgen/onnx/codec';
import type { TensorProto } from '../../src/modelgen/onnx/proto-types';
import { folderSource } from '../../src/node/folder-source';
import { EngineError } from '../../src/shared/errors';
import type { ModelRef } from '../../src/shared/protocol';
import { getTinyModel } from '../fixtures/tiny-model';
import { removeTempDirs, tempDir, writeLlavaHfCheckpoint } from './convert-helpers';
import { CPU_BACKEND } from './engine-helpers';

let embedded: string;
let external: string;
let quantized: string;
beforeAll(() => {
  embedded = getTinyModel('tiny').dir;
  external = getTinyModel('tiny', { externalData: 'always' }).dir;
  quantized = getTinyModel('tiny', { dtypes: ['fp32', 'q4', 'q8'] }).dir;
});

const onnxFiles = (dir: string) =>
  readdirSync(path.join(dir, 'onnx'))
    .filter((f) => f.endsWith('.onnx'))
    .map((f) => path.join(dir, 'onnx', f));

/** What the protobufjs decoder says each weight occupies: its raw_data, or the external data length. */
function decodedSizes(bytes: Uint8Array): Map<string, number> {
  const model = decodeModel(bytes);
  const tensors: TensorProto[] = [...model.graph.initializer];
  for (const node of model.graph.node) for (const a of node.attribute ?? []) if (a.t) tensors.push(a.t);
  const out = new Map<string, number>();
  for (const t of tensors) {
    const length = t.externalData?.find((e) => e.key === 'length')?.value;
    out.set(t.name, length !== undefined ? Number(length) : (t.rawData?.byteLength ?? -1));
  }
  return out;
}

describe('weight sizes from the protobuf', () => {
  it('match the ONNX decoder for every weight: fp32, q4 (MatMulNBits), q8, and external data', () => {
    const files = [embedded, quantized, external].flatMap(onnxFiles);
    expect(files.length).toBeGreaterThanOrEqual(3 * 3);
    for (const file of files) {
      const bytes = readFileSync(file);
      const ours = onnxTensorSizes(bytes);
      expect(ours.length, file).toBeGreaterThan(0);
      expect(new Map(ours.map((t) => [t.name, t.bytes])), file).toEqual(decodedSizes(bytes));
    }
  });

  it('read weights in external data from the small .onnx alone', () => {
    const file = path.join(external, 'onnx', 'embed_tokens.onnx');
    const bytes = readFileSync(file);
    expect(bytes.byteLength).toBeLessThan(1024);
    const [table] = onnxTensorSizes(bytes);
    expect(table).toMatchObject({ external: true, dims: [512, 64], dataType: 1, bytes: 512 * 64 * 4 });
    expect(readFileSync(`${file}_data`).byteLength).toBe(table?.bytes);
  });

  it('list the tensors over a limit, largest first', () => {
    const bytes = readFileSync(path.join(embedded, 'onnx', 'decoder_model_merged.onnx'));
    expect(oversizedTensors(bytes, 1e9)).toEqual([]);
    // lm_head is 64 × 512 fp32; the rotary tables (512 × 16) and MLP weights (64 × 128) are exactly 32 KiB.
    expect(oversizedTensors(bytes, 32_768).map((t) => t.name)).toEqual(['language_model.lm_head.weight']);
    const over = oversizedTensors(bytes, 32_767);
    expect(over[0]?.name).toBe('language_model.lm_head.weight');
    expect(over.slice(1).every((t) => t.bytes === 32_768)).toBe(true);
    expect(over).toHaveLength(9);
    expect(tensorLimit({ maxBufferSize: 10, maxStorageBufferBindingSize: 7 })).toBe(7);
  });
});

/** A source over a folder that records which files were read whole. */
function recordingSource(dir: string) {
  const inner = folderSource(dir, 'tiny');
  const reads: string[] = [];
  const source: ModelSource = {
    ...inner,
    read: (p, o) => {
      reads.push(p);
      return inner.read(p, o);
    },
  };
  return { source, reads };
}

function limitedEngine(source: ModelSource, limit: number) {
  const created: string[] = [];
  let live = 0;
  const runtime: OrtRuntime = {
    Tensor: ort.Tensor,
    InferenceSession: {
      create: (async (...args: Parameters<typeof ort.InferenceSession.create>) => {
        const session = await ort.InferenceSession.create(...args);
        const model: unknown = args[0];
        created.push(typeof model === 'string' ? path.basename(model) : 'bytes');
        live++;
        const release = session.release.bind(session);
        session.release = () => (live--, release());
        return session;
      }) as typeof ort.InferenceSession.create,
    },
  };
  const backend: BackendDescriptor = {
    ...CPU_BACKEND,
    bufferLimits: { maxBufferSize: limit * 2, maxStorageBufferBindingSize: limit },
  };
  const engine = createEngine({
    ort: runtime,
    openSource: async () => source,
    decodeImage: () => Promise.reject(new EngineError('bad-image', 'no files here')),
    selectBackend: async () => backend,
  });
  return { engine, created, live: () => live };
}

const ref: ModelRef = { kind: 'local', id: 'tiny' };
/** The tiny model's biggest weights: the token table and the lm_head, 512 × 64 fp32 each. */
const BIGGEST = 512 * 64 * 4;

describe('loading under GPU buffer limits', () => {
  it('refuses a weight over the limit before its session exists, naming it, and releases the rest', async () => {
    const { source } = recordingSource(embedded);
    const { engine, created, live } = limitedEngine(source, BIGGEST - 1);
    const err = await engine.load(ref, { dtype: 'fp32' }).catch((e: unknown) => e);
    expect(err).toMatchObject({
      name: 'EngineError',
      code: 'unsupported',
      details: {
        file: 'onnx/embed_tokens.onnx',
        tensor: 'language_model.model.embed_tokens.weight',
        bytes: BIGGEST,
      },
    });
    expect((err as Error).message).toMatch(
      /embed_tokens\.weight.*128\.0 KiB.*sharded or more strongly quantized/,
    );
    expect(created).toEqual(['vision_encoder.onnx']);
    expect(live()).toBe(0);
    expect((await engine.status()).model).toBeNull();
  });

  it('loads at exactly the limit, and reads no model file whole when every file is under it', async () => {
    const scanned = recordingSource(embedded);
    const atLimit = limitedEngine(scanned.source, BIGGEST);
    expect((await atLimit.engine.load(ref, { dtype: 'fp32' })).model?.id).toBe('tiny');
    // Files larger than the limit were scanned: decoder and vision encoder (the token table file is 131,398 bytes).
    expect(scanned.reads.filter((p) => p.endsWith('.onnx')).sort()).toEqual([
      'onnx/decoder_model_merged.onnx',
      'onnx/embed_tokens.onnx',
      'onnx/vision_encoder.onnx',
    ]);
    const roomy = recordingSource(embedded);
    const roomyEngine = limitedEngine(roomy.source, 1 << 30);
    await roomyEngine.engine.load(ref, { dtype: 'fp32' });
    expect(roomy.reads.filter((p) => p.startsWith('onnx/'))).toEqual([]);
  });

  it('measures a model with external data from its .onnx files, never reading the data', async () => {
    const { source, reads } = recordingSource(external);
    const { engine, created } = limitedEngine(source, 100_000);
    await expect(engine.load(ref, { dtype: 'fp32' })).rejects.toMatchObject({
      code: 'unsupported',
      details: { tensor: 'language_model.model.embed_tokens.weight' },
    });
    expect(created).toEqual(['vision_encoder.onnx']);
    expect(reads.filter((p) => p.startsWith('onnx/'))).toEqual([
      'onnx/vision_encoder.onnx',
      'onnx/embed_tokens.onnx',
    ]);
  });
});

describe('loading a sharded decoder under GPU buffer limits', () => {
  const config = getPreset('tiny');
  config.text_config.num_hidden_layers = 4;
  let dir: string;

  beforeAll(async () => {
    const root = tempDir('limits');
    writeLlavaHfCheckpoint(path.join(root, 'ckpt'), config, createRandomWeights(config, 5), 'llava-hf');
    const quant = 'fp32';
    const budget = 90_000 + 2 * decoderLayerBytes(config, quant);
    const result = await convertCheckpoint({
      input: path.join(root, 'ckpt'),
      output: path.join(root, 'out'),
      quant,
      shardSize: Math.floor(budget),
    });
    expect(result.shards.length).toBe(3);
    dir = result.dir;
  });
  afterAll(removeTempDirs);

  it('checks each shard before creating it, and releases the shards already built', async () => {
    let created = 0;
    let released = 0;
    const runtime: OrtRuntime = {
      Tensor: ort.Tensor,
      InferenceSession: {
        create: (async (...args: Parameters<typeof ort.InferenceSession.create>) => {
          const session = await ort.InferenceSession.create(...args);
          created++;
          const release = session.release.bind(session);
          session.release = () => (released++, release());
          return session;
        }) as typeof ort.InferenceSession.create,
      },
    };
    const args = {
      ort: runtime,
      source: folderSource(dir),
      component: 'decoder_model_merged' as const,
      candidates: ['fp32' as const],
      externalData: null,
    };
    // Layer weights (64 × 128 fp32) and rotary tables fit 32 KiB; the last shard's lm_head (64 × 512) does not.
    const limits = { maxBufferSize: 32_768, maxStorageBufferBindingSize: 32_768 };
    const err = await createDecoderAwareSession({
      ...args,
      backend: { ...CPU_BACKEND, bufferLimits: limits },
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'unsupported', details: { tensor: 'language_model.lm_head.weight' } });
    expect((err as EngineError).details?.file).toBe('onnx/decoder_shard_3_of_3.onnx');
    expect({ created, released }).toEqual({ created: 2, released: 2 });

    const fits = await createDecoderAwareSession({
      ...args,
      backend: {
        ...CPU_BACKEND,
        bufferLimits: { maxBufferSize: BIGGEST, maxStorageBufferBindingSize: BIGGEST },
      },
    });
    expect(created).toBe(2 + 3);
    await fits.session.release();
  });
});
