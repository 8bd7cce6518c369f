// Checks the eval-free ONNX protobuf writer: it runs with `Function` unavailable (as under the app's CSP, where the
// browser converter encodes graphs), and its bytes equal protobufjs's reflected encoder on every generated graph and
// on messages that exercise each encoding rule (negative int64s, packed and empty repeats, defaults, nesting).
import { describe, expect, it } from 'vitest';
import { buildComponent } from '../../src/modelgen/llava/build-all';
import { getPreset } from '../../src/modelgen/llava/presets';
import { createRandomWeights } from '../../src/modelgen/llava/random-weights';
import { decodeModel, encodeModel } from '../../src/modelgen/onnx/codec';
import { onnxType } from '../../src/modelgen/onnx/onnx-schema';
import { encodeOnnxMessage } from '../../src/modelgen/onnx/proto-writer';
import { serializeModel } from '../../src/modelgen/onnx/serialize';
import { COMPONENTS } from '../../src/shared/model-layout';

/** Runs `body` with the global Function constructor refusing, as a CSP without 'unsafe-eval' does. */
function withoutEval<T>(body: () => T): T {
  const original = globalThis.Function;
  const refuse = (): never => {
    throw new EvalError('Function() refused (no unsafe-eval)');
  };
  globalThis.Function = new Proxy(original, { apply: refuse, construct: refuse });
  try {
    return body();
  } finally {
    globalThis.Function = original;
  }
}

describe('eval-free ONNX writer', () => {
  // First in the file, before anything in this process builds protobufjs's generated coders.
  it('serialises a whole generated model with Function() refused', () => {
    const config = getPreset('tiny');
    const weights = createRandomWeights(config, 3);
    const bytes = withoutEval(
      () => serializeModel(buildComponent(config, weights, 'decoder_model_merged', 'q4'), 'm.onnx')[0]!.bytes,
    );
    expect(bytes.byteLength).toBeGreaterThan(10_000);
    expect(decodeModel(bytes).graph.node.some((n) => n.opType === 'MatMulNBits')).toBe(true);
  });

  const sameBytes = (a: Uint8Array, b: Uint8Array): boolean =>
    Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);

  it('writes the same bytes as protobufjs for every component, dtype and preset', () => {
    for (const preset of ['tiny', 'tiny-qwen-siglip'] as const) {
      const config = getPreset(preset);
      const weights = createRandomWeights(config, 1);
      for (const dtype of ['fp32', 'q8', 'q4'] as const) {
        for (const component of COMPONENTS) {
          const bytes = serializeModel(buildComponent(config, weights, component, dtype), 'm.onnx')[0]!.bytes;
          const model = decodeModel(bytes);
          const reflected = onnxType('ModelProto').encode(model).finish();
          // Byte arrays compared as buffers: a deep toEqual over megabytes takes most of a minute under load.
          expect(
            sameBytes(encodeOnnxMessage('ModelProto', model), reflected),
            `${preset} ${component} ${dtype}`,
          ).toBe(true);
          expect(sameBytes(encodeModel(model), bytes), `${preset} ${component} ${dtype} round trip`).toBe(
            true,
          );
        }
      }
    }
  });

  it('follows protobufjs on each encoding rule', () => {
    const tensor = {
      dims: [-1, 0, 2 ** 40],
      dataType: 0,
      floatData: [0, -1.5],
      int32Data: [-7],
      stringData: [new Uint8Array(0), Uint8Array.of(1, 2)],
      int64Data: [-(2 ** 40)],
      name: '',
      rawData: new Uint8Array(0),
      doubleData: [Math.PI],
      uint64Data: [2 ** 50],
      externalData: [{ key: 'location', value: '' }, {}],
      dataLocation: 1,
    };
    const graph = {
      node: [
        {
          input: ['a', ''],
          output: [],
          opType: 'X',
          domain: '',
          attribute: [
            { name: 'f', f: 0, i: -1, s: Uint8Array.of(9), t: {}, floats: [0.5], ints: [], type: 2 },
            {
              name: 'g',
              g: { name: 'inner', node: [] },
              graphs: [{}],
              tensors: [tensor],
              strings: [new Uint8Array(0)],
            },
          ],
        },
      ],
      initializer: [tensor],
      input: [
        {
          name: 'v',
          type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 0 }, { dimParam: 'b' }, {}] } } },
        },
      ],
      output: [{ name: 'o', type: {} }],
      valueInfo: [],
    };
    const model = {
      irVersion: 8,
      producerName: 'p',
      modelVersion: 0,
      graph,
      opsetImport: [{ domain: '', version: 17 }],
      metadataProps: [{ key: 'k', value: 'v' }],
    };
    expect(encodeOnnxMessage('TensorProto', tensor)).toEqual(onnxType('TensorProto').encode(tensor).finish());
    expect(encodeOnnxMessage('GraphProto', graph)).toEqual(onnxType('GraphProto').encode(graph).finish());
    expect(encodeOnnxMessage('ModelProto', model)).toEqual(onnxType('ModelProto').encode(model).finish());
  });
});
