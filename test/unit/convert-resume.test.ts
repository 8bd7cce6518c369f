// The converter's data pass: the checkpoint is read once, in file order; a conversion interrupted after k tensors (the
// source fails, as a closed tab does) and run again with the same resumable sink finishes with every output file
// byte-identical to an uninterrupted run, reading no tensor the first run finished; a file whose bytes differ from its
// published sha256 is read again once (success when the second copy is right) and is an `integrity` error when it
// stays wrong; a journal for other choices is ignored. The sink keeps bytes in memory and snapshots them at each
// commit, as the browser's staging does on disk.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ByteSource, SourceFolder } from '../../src/modelgen/convert/byte-source';
import { convertCheckpoint } from '../../src/modelgen/convert/convert';
import { convertFromSources, type ConvertChoices } from '../../src/modelgen/convert/convert-core';
import { nodeSourceFolder } from '../../src/modelgen/convert/node-source';
import { getPreset } from '../../src/modelgen/llava/presets';
import { createRandomWeights } from '../../src/modelgen/llava/random-weights';
import { removeTempDirs, tempDir, writeLlavaHfCheckpoint } from './convert-helpers';
import { MemorySink, sha256, type Durable } from './convert-stream-helpers';

interface SourceLog {
  /** Bytes read by the data pass, per file. */
  bytes: Map<string, number>;
  /** [file, offset] of every read after the header, in order. */
  reads: Array<[string, number]>;
}

const total = (log: SourceLog): number => [...log.bytes.values()].reduce((a, b) => a + b, 0);

/**
 * A checkpoint folder whose reads fail after `budget` tensor reads (a connection lost, a tab closed), optionally
 * publishing each file's sha256 and returning a wrong byte in `corrupt`'s file for its first `passes` reads of it.
 */
function failingSource(
  dir: string,
  budget: { left: number },
  log: SourceLog,
  o: { hashes?: boolean; corrupt?: { file: string; passes: number } } = {},
): SourceFolder {
  const inner = nodeSourceFolder(dir);
  const corrupt = o.corrupt === undefined ? null : { ...o.corrupt };
  return {
    ...inner,
    ...(o.hashes === true ? { sha256: (n: string) => sha256(readFileSync(path.join(dir, n))) } : {}),
    open: (name): ByteSource => {
      const src = inner.open(name);
      const headerEnd = 8 + Number(Buffer.from(src.read(0, 8)).readBigUInt64LE(0));
      return {
        name: src.name,
        size: src.size,
        read: (offset, length) => {
          // Checkpoint.open reads the header (length, then JSON) through `read` too: not counted.
          if ((offset === 0 && length === 8) || (offset === 8 && offset + length === headerEnd))
            return src.read(offset, length);
          if (budget.left-- <= 0) throw new Error('connection lost');
          log.bytes.set(name, (log.bytes.get(name) ?? 0) + length);
          log.reads.push([name, offset]);
          const bytes = src.read(offset, length);
          // The wrong byte sits in the file's last tensor: it shows only when the whole file has passed.
          if (corrupt?.file === name && offset + length === src.size && corrupt.passes-- > 0)
            bytes[length - 1] = (bytes[length - 1] as number) ^ 0xff;
          return bytes;
        },
        close: () => src.close(),
      };
    },
  };
}

const newLog = (): SourceLog => ({ bytes: new Map(), reads: [] });
const config = getPreset('tiny');
config.text_config.num_hidden_layers = 3;
const choices: ConvertChoices = {
  quant: 'q4',
  visionQuant: 'fp16',
  shardSize: 150_000,
  maxDataFileBytes: 160 * 1024,
};

describe('the data pass', () => {
  let input: string;
  let reference: Map<string, string>;
  let fileSizes: Map<string, number>;
  /** Bytes of one uninterrupted run without (with) published hashes. */
  let plainBytes = 0;
  let hashedBytes = 0;

  beforeAll(async () => {
    const root = tempDir('resume');
    input = path.join(root, 'ckpt');
    writeLlavaHfCheckpoint(input, config, createRandomWeights(config, 9), 'llava-hf', {
      dtype: 'BF16',
      shards: 2,
    });
    const out = await convertCheckpoint({ input, output: path.join(root, 'node-out'), ...choices });
    reference = new Map();
    const walk = (dir: string, prefix: string): void => {
      for (const n of readdirSync(dir)) {
        const full = path.join(dir, n);
        if (statSync(full).isDirectory()) walk(full, `${prefix}${n}/`);
        else reference.set(`${prefix}${n}`, sha256(readFileSync(full)));
      }
    };
    walk(out.dir, '');
    fileSizes = new Map(
      readdirSync(input)
        .filter((n) => n.endsWith('.safetensors'))
        .map((n) => [n, statSync(path.join(input, n)).size]),
    );
    for (const hashes of [false, true]) {
      const log = newLog();
      const sink = new MemorySink({ files: new Map(), closed: new Set(), journal: null });
      await convertFromSources({
        ...choices,
        input: failingSource(input, { left: Infinity }, log, { hashes }),
        createSink: () => sink,
      });
      expect(outputs(sink)).toEqual(reference);
      if (hashes) hashedBytes = total(log);
      else plainBytes = total(log);
      // File order: the files one after the other, each front to back.
      const order = log.reads.map(([f]) => f);
      expect(order).toEqual([...order].sort());
      for (const f of fileSizes.keys()) {
        const offsets = log.reads.filter(([n]) => n === f).map(([, at]) => at);
        expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
      }
    }
    // With hashes every byte of every file passes once; without, only the tensors the graphs use.
    expect(hashedBytes).toBe([...fileSizes.values()].reduce((a, b) => a + b, 0));
    expect(plainBytes).toBeLessThan(hashedBytes);
  }, 120_000);

  afterAll(() => removeTempDirs());

  const outputs = (sink: MemorySink): Map<string, string> =>
    new Map([...sink.bytes].map(([p, b]) => [p, sha256(b)]));

  it.each([
    [5, false],
    [40, false],
    [66, false],
    [3, true],
    [52, true],
  ])(
    'an interruption after %i tensor reads (hashes: %s) resumes at the first unfinished tensor and writes the same files',
    async (k, hashes) => {
      const durable: Durable = { files: new Map(), closed: new Set(), journal: null };
      const first = newLog();
      await expect(
        convertFromSources({
          ...choices,
          input: failingSource(input, { left: k }, first, { hashes }),
          createSink: () => new MemorySink(durable),
        }),
      ).rejects.toThrow(/connection lost/);
      expect(durable.journal).not.toBeNull();
      const second = newLog();
      const tensorEvents: number[] = [];
      let download = 0;
      let resumedAt: number | null = null;
      const sink = new MemorySink(durable);
      await convertFromSources({
        ...choices,
        input: failingSource(input, { left: Infinity }, second, { hashes }),
        createSink: () => sink,
        onProgress: (e) => {
          if (e.kind === 'tensor') tensorEvents.push(e.done);
          if (e.kind === 'plan') download = e.plan.downloadBytes;
          if (e.kind === 'resume') resumedAt = e.sourceBytes;
        },
      });
      // The progress a person sees starts where the first run stopped and ends at the plan's download exactly.
      expect(resumedAt).toBe(total(first));
      expect(total(first) + total(second)).toBe(download);
      expect(outputs(sink)).toEqual(reference);
      // Nothing finished is read again: both runs together read exactly one full run's bytes.
      expect(total(first)).toBeGreaterThan(0);
      expect(total(first) + total(second)).toBe(hashes ? hashedBytes : plainBytes);
      // The second run starts past the tensors the first one finished.
      expect(tensorEvents[0]).toBeGreaterThan(1);
    },
    60_000,
  );

  it('reads a file whose bytes differ from its sha256 once more, and succeeds when the second copy is right', async () => {
    const [firstFile, secondFile] = [...fileSizes.keys()].sort() as [string, string];
    const log = newLog();
    const sink = new MemorySink({ files: new Map(), closed: new Set(), journal: null });
    await convertFromSources({
      ...choices,
      input: failingSource(input, { left: Infinity }, log, {
        hashes: true,
        corrupt: { file: secondFile, passes: 1 },
      }),
      createSink: () => sink,
    });
    expect(outputs(sink)).toEqual(reference);
    expect(log.bytes.get(firstFile)).toBe(fileSizes.get(firstFile));
    expect(log.bytes.get(secondFile)).toBe(2 * (fileSizes.get(secondFile) as number));
  }, 60_000);

  it('fails with `integrity` when the second copy is wrong too, and publishes nothing', async () => {
    const [, secondFile] = [...fileSizes.keys()].sort() as [string, string];
    const log = newLog();
    const sink = new MemorySink({ files: new Map(), closed: new Set(), journal: null });
    const error = await convertFromSources({
      ...choices,
      input: failingSource(input, { left: Infinity }, log, {
        hashes: true,
        corrupt: { file: secondFile, passes: 2 },
      }),
      createSink: () => sink,
    }).catch((e: unknown) => e);
    expect((error as { code?: string }).code).toBe('integrity');
    expect((error as Error).message).toMatch(new RegExp(`${secondFile}.*wrong content`));
    expect(log.bytes.get(secondFile)).toBe(2 * (fileSizes.get(secondFile) as number));
    expect(sink.finished).toBe(false);
    expect([...sink.bytes.keys()].some((p) => p.endsWith('.onnx') || p === 'manifest.json')).toBe(false);
  }, 60_000);

  it('ignores a journal written for other choices and starts over', async () => {
    const durable: Durable = { files: new Map(), closed: new Set(), journal: null };
    await expect(
      convertFromSources({
        ...choices,
        input: failingSource(input, { left: 20 }, newLog()),
        createSink: () => new MemorySink(durable),
      }),
    ).rejects.toThrow(/connection lost/);
    const again = newLog();
    const sink = new MemorySink({ files: new Map(), closed: new Set(), journal: durable.journal });
    await convertFromSources({
      ...choices,
      shardSize: 300_000,
      input: failingSource(input, { left: Infinity }, again),
      createSink: () => sink,
    });
    expect(total(again)).toBe(plainBytes);
  }, 60_000);
});
