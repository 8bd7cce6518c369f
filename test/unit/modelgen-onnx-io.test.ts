// Checks the ONNX writer/reader: protobuf round trips, attribute typing, explicit Split sizes, and external-data
// serialisation (several capped, aligned files) that onnxruntime-node loads from disk with identical outputs.
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildComponent } from '../../src/modelgen/llava/build-all';
import { COMPONENTS } from '../../src/shared/model-layout';
import { buildDecoder } from '../../src/modelgen/llava/decoder-graph';
import { getPreset } from '../../src/modelgen/llava/presets';
import { createRandomWeights } from '../../src/modelgen/llava/random-weights';
import { decodeModel, encodeModel } from '../../src/modelgen/onnx/codec';
import { attrFloat, GraphBuilder, initializerBytes } from '../../src/modelgen/onnx/graph-builder';
import { AttributeType, DataLocation, TensorDataType } from '../../src/modelgen/onnx/proto-types';
import { serializeModel } from '../../src/modelgen/onnx/serialize';
import { emptyPast, f32, i64, noise, ort, sessionOf } from './modelgen-helpers';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('ONNX protobuf codec', () => {
  it('round-trips a model: decode(encode(m)) re-encodes to the same bytes, with typed attributes and raw data', () => {
    const g = new GraphBuilder('t');
    const x = g.input('x', 'float32', ['batch', 3]);
    const w = g.initializer('w', { dtype: 'float32', dims: [3, 2], data: Float32Array.of(1, 2, 3, 4, 5, 6) });
    const y = g.op('MatMul', [x, w]);
    g.node(
      'LayerNormalization',
      [y, g.constFloat([1, 1]), g.constFloat([0, 0])],
      { axis: -1, epsilon: attrFloat(1e-5) },
      { outputs: ['y'] },
    );
    g.output('y', 'float32', ['batch', 2]);
    const [file] = serializeModel(g, 't.onnx');
    const model = decodeModel(file!.bytes);
    expect(encodeModel(model)).toEqual(file!.bytes);
    const ln = model.graph.node.find((n) => n.opType === 'LayerNormalization');
    const eps = ln?.attribute?.find((a) => a.name === 'epsilon');
    expect(eps?.type).toBe(AttributeType.FLOAT);
    expect(eps?.f).toBeCloseTo(1e-5, 10);
    expect(ln?.attribute?.find((a) => a.name === 'axis')).toMatchObject({ type: AttributeType.INT, i: -1 });
    const init = model.graph.initializer.find((t) => t.name === 'w');
    expect(init?.dataType).toBe(TensorDataType.FLOAT);
    expect(init?.dims).toEqual([3, 2]);
    expect(new Float32Array(Uint8Array.from(init!.rawData!).buffer)).toEqual(
      Float32Array.of(1, 2, 3, 4, 5, 6),
    );
    expect(model.graph.input[0]?.type.tensorType.shape?.dim).toEqual([
      { dimParam: 'batch' },
      { dimValue: 3 },
    ]);
  });

  it('refuses float attributes given as plain numbers and duplicate value names', () => {
    const g = new GraphBuilder('bad');
    g.node('LeakyRelu', [g.input('x', 'float32', [1])], { alpha: 0.1 });
    expect(() => serializeModel(g, 'bad.onnx')).toThrow(/attrFloat/);
    expect(() => g.input('x', 'float32', [1])).toThrow(/duplicate/);
  });

  it('gives every Split in every generated graph explicit sizes (onnxruntime-web JSEP bug)', () => {
    for (const preset of ['tiny', 'tiny-qwen-siglip'] as const) {
      const config = getPreset(preset);
      const weights = createRandomWeights(config, 1);
      for (const dtype of ['fp32', 'q8', 'q4'] as const) {
        for (const component of COMPONENTS) {
          const model = decodeModel(
            serializeModel(buildComponent(config, weights, component, dtype), 'm.onnx')[0]!.bytes,
          );
          for (const node of model.graph.node.filter((n) => n.opType === 'Split')) {
            expect(node.input.length).toBe(2);
            expect(node.input[1]).not.toBe('');
          }
        }
      }
    }
  });
});

describe('external data', () => {
  const config = getPreset('tiny');
  const weights = createRandomWeights(config, 5);
  const D = config.text_config.hidden_size;

  it('splits weights over capped, 64-byte-aligned `.onnx_data[_N]` files that onnxruntime-node loads from disk', async () => {
    const graph = buildDecoder(config, weights);
    const cap = 160 * 1024; // lm_head alone is 128 KiB
    const files = serializeModel(graph, 'decoder_model_merged.onnx', {
      externalData: 'always',
      maxExternalFileBytes: cap,
    });
    const names = files.map((f) => f.path);
    expect(names[0]).toBe('decoder_model_merged.onnx');
    expect(names[1]).toBe('decoder_model_merged.onnx_data');
    expect(names[2]).toBe('decoder_model_merged.onnx_data_1');
    expect(files.length).toBeGreaterThanOrEqual(4); // the .onnx and at least three data files
    for (const f of files.slice(1)) expect(f.bytes.byteLength).toBeLessThanOrEqual(cap);

    const model = decodeModel(files[0]!.bytes);
    const external = model.graph.initializer.filter((t) => t.dataLocation === DataLocation.EXTERNAL);
    expect(external.length).toBeGreaterThan(10);
    for (const t of model.graph.initializer) {
      const size = graph.initializers.get(t.name)!.byteLength;
      if (size < 1024) {
        expect(t.dataLocation ?? 0).toBe(DataLocation.DEFAULT);
        continue;
      }
      const entry = Object.fromEntries((t.externalData ?? []).map((e) => [e.key, e.value]));
      expect(Number(entry.offset) % 64).toBe(0);
      expect(Number(entry.length)).toBe(size);
      const file = files.find((f) => f.path === entry.location)!;
      const stored = file.bytes.subarray(Number(entry.offset), Number(entry.offset) + size);
      expect(
        Buffer.compare(Buffer.from(stored), Buffer.from(initializerBytes(graph.initializers.get(t.name)!))),
      ).toBe(0);
    }

    const dir = mkdtempSync(path.join(tmpdir(), 'modelgen-ext-'));
    dirs.push(dir);
    for (const f of files) writeFileSync(path.join(dir, f.path), f.bytes);
    expect(statSync(path.join(dir, 'decoder_model_merged.onnx')).size).toBeLessThan(64 * 1024);
    const fromDisk = await ort.InferenceSession.create(path.join(dir, 'decoder_model_merged.onnx'));
    const embedded = await sessionOf(graph);
    const feeds = {
      inputs_embeds: f32(noise(4 * D, 3), [1, 4, D]),
      attention_mask: i64([1, 1, 1, 1], [1, 4]),
      position_ids: i64([0, 1, 2, 3], [1, 4]),
      num_logits_to_keep: i64([0], []),
      ...emptyPast(config, 1),
    };
    const a = await fromDisk.run(feeds);
    const b = await embedded.run(feeds);
    expect(a.logits!.data).toEqual(b.logits!.data);
  });

  it("keeps weights inside with 'never', goes external in 'auto' only above the threshold", () => {
    const graph = buildDecoder(config, weights);
    expect(serializeModel(graph, 'd.onnx', { externalData: 'never' })).toHaveLength(1);
    expect(serializeModel(graph, 'd.onnx')).toHaveLength(1);
    const auto = serializeModel(graph, 'd.onnx', { autoExternalAboveBytes: 1000 });
    expect(auto.map((f) => f.path)).toEqual(['d.onnx', 'd.onnx_data']);
  });

  it('rejects a single tensor larger than the file cap', () => {
    expect(() =>
      serializeModel(buildDecoder(config, weights), 'd.onnx', {
        externalData: 'always',
        maxExternalFileBytes: 4096,
      }),
    ).toThrow(RangeError);
  });
});
