// Tensors whose every use works row by row (a weight stored as it is, fp16 storage, q4 MatMulNBits) stream through
// the data pass in blocks of rows and are never held whole: the output files are byte for byte those of the
// whole-tensor path, whatever block size (blocks that split the rows at odd counts, a last partial block, the zero
// rows of a padded embed_tokens), with a tensor that must be held whole (a q8 or transposed weight, an inline
// output) mixed in, and a sink that keeps written views until its next drain (as the browser's store does).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckpointWeights, EMBED_NAME } from '../../src/modelgen/convert/checkpoint-weights';
import { convertFromSources, type CoreConvertOptions } from '../../src/modelgen/convert/convert-core';
import type { HeaviestTensor } from '../../src/modelgen/convert/data-pass';
import { float32ToBfloat16, bfloat16ToFloat32 } from '../../src/modelgen/convert/float-bits';
import { openCheckpoint } from '../../src/modelgen/convert/node-source';
import { RowBlockWidener } from '../../src/modelgen/convert/row-blocks';
import { getPreset } from '../../src/modelgen/llava/presets';
import { createRandomWeights } from '../../src/modelgen/llava/random-weights';
import type { LlavaHfConfig } from '../../src/modelgen/llava/types';
import path from 'node:path';
import { removeTempDirs, tempDir, writeLlavaHfCheckpoint, writeOriginalCheckpoint } from './convert-helpers';
import { emptyDurable, MemorySink, oddPieces, piecewiseSource, sha256 } from './convert-stream-helpers';

describe('RowBlockWidener', () => {
  const [stored, total, width] = [7, 9, 5];
  const values = Float32Array.from({ length: stored * width }, (_, i) => Math.cos(i) * (i + 1));
  const bf = float32ToBfloat16(values);
  const bytes = new Uint8Array(bf.buffer);
  const expected = new Float32Array(total * width);
  expected.set(bfloat16ToFloat32(bf));

  it.each([1, 2, 3, 4, 7, 8, 9])(
    'hands on blocks of %i rows that together are the whole widened tensor and its zero rows',
    async (blockRows) => {
      for (let start = 0; start < 8; start++) {
        // Stale values in the reused block must not leak into padding rows.
        const block = new Float32Array(blockRows * width + 3).fill(99);
        const got = new Float32Array(total * width);
        const blocks: Array<[number, number]> = [];
        const rows = new RowBlockWidener(
          'BF16',
          stored,
          total,
          width,
          block,
          async (first, count, t, data) => {
            expect(t).toBe(total);
            expect(data.length).toBe(count * width);
            got.set(data, first * width);
            blocks.push([first, count]);
            await Promise.resolve();
          },
        );
        for (const piece of oddPieces(bytes, start)) await rows.push(piece);
        await rows.finish();
        expect(got).toEqual(expected);
        // Contiguous, none larger than the block; stored and padding rows never share a block.
        let next = 0;
        for (const [first, count] of blocks) {
          expect(first).toBe(next);
          expect(count).toBeGreaterThan(0);
          expect(count).toBeLessThanOrEqual(blockRows);
          expect(first < stored && first + count > stored).toBe(false);
          next += count;
        }
        expect(next).toBe(total);
      }
    },
  );

  it('refuses rows that stop short or run past the stored ones', async () => {
    const short = new RowBlockWidener('BF16', 2, 2, 3, new Float32Array(3), () => undefined);
    await short.push(new Uint8Array(8));
    await expect(short.finish()).rejects.toThrow(/1 of 2 rows/);
    const long = new RowBlockWidener('BF16', 1, 1, 3, new Float32Array(3), () => undefined);
    await expect(Promise.resolve().then(() => long.push(new Uint8Array(8)))).rejects.toThrow(
      /more than 1 rows/,
    );
  });
});

/** The tiny preset widened so q4 zero points (2 bytes a row) leave the protobuf: lm_head streams in rows too. */
function rowConfig(tied = false): LlavaHfConfig {
  const c = getPreset('tiny');
  c.text_config.num_hidden_layers = 2;
  c.text_config.hidden_size = 128;
  c.text_config.intermediate_size = 256;
  c.text_config.tie_word_embeddings = tied;
  return c;
}

const ROW_FLOATS = 128;
/** Block sizes in bytes: 3 rows, 7 rows (a size between rows), 100 rows (512 = 5 × 100 + 12), one row. */
const BLOCKS = [3 * ROW_FLOATS * 4, 7 * ROW_FLOATS * 4 + 100, 100 * ROW_FLOATS * 4, ROW_FLOATS * 4];

type Case = {
  name: string;
  options: Pick<CoreConvertOptions, 'quant' | 'visionQuant' | 'embedQuant' | 'shardSize'>;
  make: (root: string) => { input: string; clip?: string };
  /** Whether embed_tokens (and lm_head) streamed in rows: the heaviest tensor held whole is smaller. */
  tableStreams: boolean;
};

const cases: Case[] = [
  {
    name: 'q4 + fp16 vision, bf16 in 2 files',
    options: { quant: 'q4', visionQuant: 'fp16', shardSize: 300_000 },
    make: (root) => {
      const c = rowConfig();
      const input = path.join(root, 'ckpt');
      writeLlavaHfCheckpoint(input, c, createRandomWeights(c, 11), 'llava-hf', { dtype: 'BF16', shards: 2 });
      return { input };
    },
    tableStreams: true,
  },
  {
    name: 'q4 with lm_head tied to an fp16 embed_tokens',
    options: { quant: 'q4', embedQuant: 'fp16' },
    make: (root) => {
      const c = rowConfig(true);
      const input = path.join(root, 'ckpt');
      writeLlavaHfCheckpoint(input, c, createRandomWeights(c, 12), 'llava-hf', { dtype: 'BF16' });
      return { input };
    },
    tableStreams: true,
  },
  {
    name: 'q4, original naming: embed_tokens padded with a zero row for <image>',
    options: { quant: 'q4' },
    make: (root) => {
      const c = rowConfig();
      const input = path.join(root, 'ckpt');
      const clip = path.join(root, 'clip');
      writeOriginalCheckpoint(input, clip, c, createRandomWeights(c, 13));
      return { input, clip };
    },
    tableStreams: true,
  },
  {
    name: 'q8 (per-tensor: held whole) + q8 embed',
    options: { quant: 'q8', embedQuant: 'q8' },
    make: (root) => {
      const c = rowConfig();
      const input = path.join(root, 'ckpt');
      writeLlavaHfCheckpoint(input, c, createRandomWeights(c, 14), 'llava-hf', { dtype: 'BF16' });
      return { input };
    },
    tableStreams: false,
  },
];

describe.each(cases)('the data pass streaming rows: $name', ({ options, make, tableStreams }) => {
  let dirs: { input: string; clip?: string };
  let reference: Map<string, string>;
  let whole: HeaviestTensor | null = null;

  const convert = async (
    rowBlockBytes: number,
  ): Promise<{ files: Map<string, string>; heaviest: HeaviestTensor | null }> => {
    // Keeps written views until the next drain or commit: a row block overwritten before then would show.
    const sink = new MemorySink(emptyDurable(), true);
    let heaviest: HeaviestTensor | null = null;
    await convertFromSources({
      ...options,
      input: piecewiseSource(dirs.input, { stream: true }),
      ...(dirs.clip === undefined ? {} : { clip: piecewiseSource(dirs.clip, { stream: true }) }),
      rowBlockBytes,
      createSink: () => sink,
      onProgress: (e) => {
        if (e.kind === 'done') heaviest = e.heaviest;
      },
    });
    return { files: new Map([...sink.bytes].map(([p, b]) => [p, sha256(b)])), heaviest };
  };

  beforeAll(async () => {
    dirs = make(tempDir('rows'));
    const ref = await convert(0);
    reference = ref.files;
    whole = ref.heaviest;
    expect(whole?.rowBlockBytes).toBe(0);
  }, 120_000);

  afterAll(() => removeTempDirs());

  it.each(BLOCKS)(
    'writes the same bytes in every file in row blocks of %i bytes',
    async (block) => {
      const { files, heaviest } = await convert(block);
      expect(files).toEqual(reference);
      expect(heaviest?.rowBlockBytes).toBeGreaterThan(0);
      // A block holds whole rows: of the widest row-streamed tensor at most max(1, block / row) rows, + outputs.
      expect(heaviest?.rowBlockBytes).toBeLessThanOrEqual(Math.max(block, 4 * 4 * ROW_FLOATS) * 2);
      const table = 512 * ROW_FLOATS * 4;
      if (tableStreams) {
        expect(whole?.tensorBytes).toBeGreaterThanOrEqual(table);
        expect(heaviest?.tensorBytes).toBeLessThan(table);
      } else expect(heaviest?.tensorBytes).toBe(whole?.tensorBytes);
      expect(heaviest?.largest).toEqual(whole?.largest);
    },
    60_000,
  );
});

describe('CheckpointWeights.receiveRows', () => {
  it('gives a padded embed_tokens in row blocks exactly as the whole float32 form, zero rows included', async () => {
    const c = getPreset('tiny');
    const dir = path.join(tempDir('rows-embed'), 'ckpt');
    writeLlavaHfCheckpoint(dir, c, createRandomWeights(c, 3), 'llava-hf', { dtype: 'BF16' });
    const ck = openCheckpoint(dir);
    const V = c.text_config.vocab_size;
    const D = c.text_config.hidden_size;
    const cw = new CheckpointWeights({
      main: ck,
      clip: null,
      naming: 'llava-hf',
      projector: 'mlp2x_gelu',
      embedRows: V + 5,
    });
    const bytes = ck.fileList[0]!.file.readBytes(cw.locate(EMBED_NAME)!.source.name);
    const held = cw.receive([EMBED_NAME]);
    held.push(bytes);
    held.finish();
    const expected = (cw.get(EMBED_NAME)!.data as Float32Array).slice();
    cw.release(EMBED_NAME);
    expect(expected.length).toBe((V + 5) * D);
    for (const rowsPerBlock of [1, 6, 7, V + 5]) {
      const got = new Float32Array((V + 5) * D).fill(7);
      const rows = cw.receiveRows([EMBED_NAME], rowsPerBlock * D * 4 + 3, (first, count, total, data) => {
        expect(total).toBe(V + 5);
        got.set(data, first * D);
      });
      for (const piece of oddPieces(bytes, rowsPerBlock)) await rows.push(piece);
      await rows.finish();
      expect(got).toEqual(expected);
      // The held path is never entered: nothing reads the tensor but the blocks.
      expect(() => cw.get(EMBED_NAME)!.data).toThrow(/outside the data pass/);
    }
  });
});
