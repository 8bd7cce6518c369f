// Test fixtures for the weight store: a model folder of seeded bytes, fresh fake-indexeddb stores, and checks that
// what is stored is never corrupt and that progress never goes backwards.
import 'fake-indexeddb/auto';
import { expect } from 'vitest';
import { openWeightStore, type WeightStore } from '../../../src/store/idb-weight-store';
import type { LoadProgressEvent, OverallProgress } from '../../../src/shared/protocol';

/** Chunk size the store tests use: small, so that the tiny model's files span several chunks. */
export const CHUNK = 4096;

/** Deterministic bytes (xorshift32) so that failures reproduce. */
export function seededBytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

const json = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value, null, 1));

/**
 * A model folder in the transformers.js layout. The graph files are opaque seeded bytes: the store never parses
 * them, so these tests check bytes, not inference. fp32 graphs plus a q4 decoder that an fp32 download must skip.
 */
export function modelFolder(): Map<string, Uint8Array> {
  return new Map<string, Uint8Array>([
    [
      'config.json',
      json({
        model_type: 'llava',
        'transformers.js_config': {
          dtype: 'fp32',
          use_external_data_format: { 'decoder_model_merged.onnx': 1 },
        },
      }),
    ],
    [
      'tokenizer.json',
      json({ model: { vocab: Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`tok${i}`, i])) } }),
    ],
    ['tokenizer_config.json', json({ tokenizer_class: 'PreTrainedTokenizerFast' })],
    ['preprocessor_config.json', json({ image_mean: [0.5, 0.5, 0.5] })],
    ['README.md', new TextEncoder().encode('# not needed')],
    ['onnx/vision_encoder.onnx', seededBytes(20_000, 1)],
    ['onnx/embed_tokens.onnx', seededBytes(9_000, 2)],
    ['onnx/decoder_model_merged.onnx', seededBytes(5_000, 3)],
    ['onnx/decoder_model_merged.onnx_data', seededBytes(30_000, 4)],
    ['onnx/decoder_model_merged_q4.onnx', seededBytes(12_345, 5)],
  ]);
}

/** The files an fp32 download of `modelFolder()` needs. */
export const FP32_FILES = [
  'config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'preprocessor_config.json',
  'onnx/vision_encoder.onnx',
  'onnx/embed_tokens.onnx',
  'onnx/decoder_model_merged.onnx',
  'onnx/decoder_model_merged.onnx_data',
];

let storeCounter = 0;

/** A weight store in its own fake-indexeddb database. */
export function freshStore(): WeightStore {
  storeCounter++;
  return openWeightStore({
    dbName: `store-test-${process.pid}-${storeCounter}-${Math.random().toString(36).slice(2)}`,
  });
}

/** Every stored chunk of every file equals the source bytes at its offset, and complete files are whole. */
export async function expectNothingCorrupt(
  store: WeightStore,
  modelId: string,
  source: Map<string, Uint8Array>,
): Promise<void> {
  for (const record of await store.listFiles(modelId)) {
    const original = source.get(record.path);
    expect(original, `stored unknown file ${record.path}`).toBeDefined();
    if (!original) continue;
    let offset = 0;
    for (let i = 0; i < record.chunkCount; i++) {
      const chunk = await store.readChunk(modelId, record.path, i);
      expect(chunk, `${record.path} chunk ${i}`).toBeDefined();
      if (!chunk) return;
      expect(
        Buffer.from(chunk).equals(Buffer.from(original.subarray(offset, offset + chunk.byteLength))),
        `${record.path} chunk ${i} differs`,
      ).toBe(true);
      offset += chunk.byteLength;
    }
    expect(offset).toBe(record.storedBytes);
    // No chunk beyond the recorded ones.
    expect(await store.readChunk(modelId, record.path, record.chunkCount)).toBeUndefined();
    if (record.complete) expect(offset).toBe(original.byteLength);
  }
}

/** Collects progress events and checks the invariants: per file and overall, loaded never decreases. */
export function progressRecorder(): {
  events: LoadProgressEvent[];
  onProgress: (e: LoadProgressEvent) => void;
  expectMonotonic: () => void;
  /** The overall progress of the last event that carried one. */
  lastOverall: () => OverallProgress | undefined;
} {
  const events: LoadProgressEvent[] = [];
  return {
    events,
    onProgress: (e) => void events.push(e),
    lastOverall: () => {
      for (let i = events.length - 1; i >= 0; i--) {
        const e = events[i];
        if (e && 'overall' in e && e.overall) return e.overall;
      }
      return undefined;
    },
    expectMonotonic: () => {
      const perFile = new Map<string, number>();
      let overall = -1;
      for (const e of events) {
        const prev = perFile.get(e.file) ?? -1;
        expect(e.loaded, `${e.kind} ${e.file} went backwards`).toBeGreaterThanOrEqual(prev);
        expect(e.loaded).toBeLessThanOrEqual(e.total);
        perFile.set(e.file, e.loaded);
        if ('overall' in e && e.overall) {
          expect(e.overall.loaded, 'overall progress went backwards').toBeGreaterThanOrEqual(overall);
          expect(e.overall.loaded).toBeLessThanOrEqual(e.overall.total);
          overall = e.overall.loaded;
        }
      }
    },
  };
}
