// The data pass's bounded memory: a tensor's bytes are widened into its float32 form and hashed piece by piece as
// they arrive, never assembled whole. Pieces that split tensors and elements at odd places (1 byte, 3, 7, a prime
// length, at odd byte offsets) give the same float32 values as one whole read, the same output files as a plain
// Node conversion, the sha256 state of exactly the bytes before the next tensor in the journal, and a resume mid-file from such a
// stream still writes the same files. The browser's source hash (batched, pooled buffers) gives the same states as
// one sha256 over the same bytes. The data pass reports the heaviest tensor it held (its memory bound).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { createSHA256 } from 'hash-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckpointWeights, EMBED_NAME } from '../../src/modelgen/convert/checkpoint-weights';
import { Float32Widener } from '../../src/modelgen/convert/chunk-widener';
import { convertCheckpoint } from '../../src/modelgen/convert/convert';
import { convertFromSources, type ConvertChoices } from '../../src/modelgen/convert/convert-core';
import type { HeaviestTensor } from '../../src/modelgen/convert/data-pass';
import { bfloat16ToFloat32, float32ToBfloat16 } from '../../src/modelgen/convert/float-bits';
import { openCheckpoint } from '../../src/modelgen/convert/node-source';
import { getPreset } from '../../src/modelgen/llava/presets';
import { createRandomWeights } from '../../src/modelgen/llava/random-weights';
import { float32ToHalf, halfToFloat32 } from '../../src/shared/float16';
import { hashInHashWorker, SOURCE_HASH_BATCH_BYTES } from '../../src/store/source-hash';
import { removeTempDirs, tempDir, writeLlavaHfCheckpoint } from './convert-helpers';
import { ODD, oddPieces, piecewiseSource, MemorySink, sha256 } from './convert-stream-helpers';

describe('Float32Widener', () => {
  const values = Float32Array.from({ length: 1001 }, (_, i) => Math.sin(i) * 10 ** ((i % 9) - 4));
  const cases: Array<[string, Uint8Array, Float32Array]> = [];
  const f32 = new Uint8Array(values.buffer.slice(0));
  cases.push(['F32', f32, values]);
  const half = float32ToHalf(values);
  cases.push(['F16', new Uint8Array(half.buffer), halfToFloat32(half)]);
  const bf = float32ToBfloat16(values);
  cases.push(['BF16', new Uint8Array(bf.buffer), bfloat16ToFloat32(bf)]);
  const f64 = Float64Array.from(values, (v) => v * (1 + 1e-12));
  cases.push(['F64', new Uint8Array(f64.buffer), Float32Array.from(f64)]);

  it.each(cases)('widens %s split anywhere exactly as one whole read', (dtype, bytes, expected) => {
    for (let start = 0; start < ODD.length; start++) {
      // Two padding elements: they must stay zero.
      const out = new Float32Array(expected.length + 2);
      const w = new Float32Widener(dtype, out, expected.length);
      for (const piece of oddPieces(bytes, start)) w.push(piece);
      w.finish();
      expect(out.subarray(0, expected.length)).toEqual(expected);
      expect(Array.from(out.subarray(expected.length))).toEqual([0, 0]);
    }
  });

  it('refuses a tensor whose bytes stop inside an element or run past its end', () => {
    const w = new Float32Widener('BF16', new Float32Array(2), 2);
    w.push(Uint8Array.of(1, 2, 3));
    expect(() => w.finish()).toThrow(/1 of 2 elements \(\+1 bytes\)/);
    expect(() => w.push(Uint8Array.of(4, 5, 6))).toThrow(/more than 2 elements/);
  });
});

describe("the browser's source hash", () => {
  it('gives the state and digest of one sha256 over the same bytes, whatever the pieces and the caller reuses', async () => {
    const bytes = Uint8Array.from(
      { length: 2 * SOURCE_HASH_BATCH_BYTES + 70_001 },
      (_, i) => (i * 7919) & 255,
    );
    const cut = SOURCE_HASH_BATCH_BYTES + 12_345;
    const h = await hashInHashWorker(null);
    const scratch = new Uint8Array(65_537);
    for (const piece of oddPieces(bytes.subarray(0, cut))) {
      // The caller reuses its buffer as soon as update returns: the hash must have copied the piece.
      const view = scratch.subarray(0, piece.byteLength);
      view.set(piece);
      await h.update(view);
      view.fill(0xee);
    }
    const state = await h.state();
    // The state is that of exactly the bytes given: a resumed hash (a reopened tab) continues from it.
    const resumed = await hashInHashWorker(state);
    for (const piece of oddPieces(bytes.subarray(cut), 3)) await resumed.update(piece);
    expect(await resumed.digest()).toBe(sha256(bytes));
  });
});

const config = getPreset('tiny');
config.text_config.num_hidden_layers = 2;
const choices: ConvertChoices = { quant: 'q4', visionQuant: 'fp16', shardSize: 150_000 };

describe('the data pass over pieces split anywhere', () => {
  let input: string;
  let reference: Map<string, string>;
  let plainCursors: MemorySink['cursors'];
  let plainHeaviest: HeaviestTensor | null = null;

  const outputs = (sink: MemorySink): Map<string, string> =>
    new Map([...sink.bytes].map(([p, b]) => [p, sha256(b)]));

  beforeAll(async () => {
    const root = tempDir('pieces');
    input = path.join(root, 'ckpt');
    writeLlavaHfCheckpoint(input, config, createRandomWeights(config, 5), 'llava-hf', {
      dtype: 'BF16',
      shards: 2,
    });
    const out = await convertCheckpoint({ input, output: path.join(root, 'node-out'), ...choices });
    reference = new Map();
    for (const n of readdirSync(out.dir)) {
      const full = path.join(out.dir, n);
      if (statSync(full).isDirectory())
        for (const m of readdirSync(full))
          reference.set(`${n}/${m}`, sha256(readFileSync(path.join(full, m))));
      else reference.set(n, sha256(readFileSync(full)));
    }
    const sink = new MemorySink();
    await convertFromSources({
      ...choices,
      input: piecewiseSource(input, { stream: false }),
      createSink: () => sink,
      onProgress: (e) => {
        if (e.kind === 'done') plainHeaviest = e.heaviest;
      },
    });
    expect(outputs(sink)).toEqual(reference);
    plainCursors = sink.cursors;
  }, 120_000);

  afterAll(() => removeTempDirs());

  it('writes the same files and journals the sha256 state after every tensor as whole range reads do', async () => {
    const sink = new MemorySink();
    await convertFromSources({
      ...choices,
      input: piecewiseSource(input, { stream: true }),
      createSink: () => sink,
    });
    expect(outputs(sink)).toEqual(reference);
    expect(plainCursors.length).toBeGreaterThan(20);
    // Commits at the same offsets, each with the state after exactly the bytes before its offset: that state, fed
    // the rest of the file, gives the file's sha256. (Saved states are compared by what they continue to: their
    // partial-block buffers may hold different stale bytes.)
    expect(sink.cursors.map(([f, at]) => [f, at])).toEqual(plainCursors.map(([f, at]) => [f, at]));
    for (const [file, at, state] of sink.cursors) {
      const whole = readFileSync(path.join(input, file));
      const h = await createSHA256();
      h.load(Buffer.from(state as string, 'hex'));
      h.update(whole.subarray(at));
      expect(h.digest('hex'), `${file} at ${at}`).toBe(sha256(whole));
    }
  }, 60_000);

  it.each([20, 45])(
    'resumes mid-file after the stream broke at piece %i and still writes the same files',
    async (budget) => {
      const first = new MemorySink();
      await expect(
        convertFromSources({
          ...choices,
          input: piecewiseSource(input, { stream: true, budget }),
          createSink: () => first,
        }),
      ).rejects.toThrow(/connection lost/);
      expect(first.durable.journal?.cursor?.offset ?? 0).toBeGreaterThan(0);
      const second = new MemorySink(first.durable);
      await convertFromSources({
        ...choices,
        input: piecewiseSource(input, { stream: true }),
        createSink: () => second,
      });
      expect(outputs(second)).toEqual(reference);
    },
    60_000,
  );

  it('reports the heaviest tensor it held: its float32 form and the bytes its fills computed', () => {
    const h = plainHeaviest as HeaviestTensor | null;
    expect(h).not.toBeNull();
    const { vocab_size: vocab, hidden_size: hidden } = config.text_config;
    // lm_head (q4: codes + scales + zero points), held whole: at this width its zero points (1 byte a row) stay
    // inside the protobuf, a use that is not row by row (convert-rows.test.ts covers the row-streamed path). The
    // embedding table (fp32, stored as it is) streams in rows.
    const table = vocab * hidden * 4;
    expect(h?.tensorBytes).toBe(table);
    const blocks = Math.ceil(hidden / 32);
    const q4 = vocab * blocks * 16 + vocab * blocks * 4 + vocab * Math.ceil(blocks / 2);
    expect(h?.outputBytes).toBe(q4);
    expect(h?.tensor).toBe('language_model.lm_head.weight');
  });
});

describe('the float32 buffer reused from tensor to tensor', () => {
  it('gives a padded embed_tokens zero rows after a larger tensor filled the buffer', () => {
    const small = getPreset('tiny');
    small.text_config.vocab_size = 360;
    small.text_config.intermediate_size = 512;
    const weights = createRandomWeights(small, 3);
    const dir = path.join(tempDir('arena'), 'ckpt');
    writeLlavaHfCheckpoint(dir, small, weights, 'llava-hf', { dtype: 'BF16' });
    const ck = openCheckpoint(dir);
    const V = small.text_config.vocab_size;
    const cw = new CheckpointWeights({
      main: ck,
      clip: null,
      naming: 'llava-hf',
      projector: 'mlp2x_gelu',
      embedRows: V + 2,
    });
    const pass = (canonical: string): Float32Array => {
      const at = cw.locate(canonical);
      const bytes = ck.fileList[0]!.file.readBytes(at!.source.name);
      const incoming = cw.receive([canonical]);
      for (const piece of oddPieces(bytes)) incoming.push(piece);
      incoming.finish();
      return (cw.get(canonical) as { data: Float32Array }).data;
    };
    const mlp = 'language_model.model.layers.0.mlp.gate_proj.weight';
    const big = pass(mlp);
    expect(big.length).toBeGreaterThan((V + 2) * small.text_config.hidden_size);
    expect(big.some((v) => v !== 0)).toBe(true);
    cw.release(mlp);
    const table = pass(EMBED_NAME);
    const D = small.text_config.hidden_size;
    expect(table.length).toBe((V + 2) * D);
    expect(Array.from(table.subarray(V * D)).every((v) => v === 0)).toBe(true);
    const expected = weights.get(EMBED_NAME)!.data;
    // bf16 of the seeded values, widened: the stored rows come back as the checkpoint holds them.
    expect(table.subarray(0, V * D)).toEqual(bfloat16ToFloat32(float32ToBfloat16(expected)));
    expect(() => cw.get(mlp)?.data).toThrow(/outside the data pass/);
    ck.close();
  });
});
