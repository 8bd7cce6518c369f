// Per-tensor resume in the converter core: a conversion interrupted mid-graph (the source fails after k tensors, as a
// closed tab does) and run again with the same resumable sink finishes with every output file byte-identical to an
// uninterrupted run, fetching no tensor the first run finished (at most the one in flight); a journal for other
// choices is ignored. The sink here keeps bytes in memory and snapshots them at each commit, like the browser's
// staging does on disk.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ByteSource, SourceFolder } from '../../src/modelgen/convert/byte-source';
import { convertCheckpoint } from '../../src/modelgen/convert/convert';
import { convertFromSources, type ConvertChoices } from '../../src/modelgen/convert/convert-core';
import {
  manifestBytes,
  sortedEntries,
  type ConversionJournal,
  type FileSink,
  type ManifestEntry,
  type SinkFile,
} from '../../src/modelgen/convert/file-sink';
import { nodeSourceFolder } from '../../src/modelgen/convert/node-source';
import { getPreset } from '../../src/modelgen/llava/presets';
import { createRandomWeights } from '../../src/modelgen/llava/random-weights';
import { removeTempDirs, tempDir, writeLlavaHfCheckpoint } from './convert-helpers';

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** What survives a crash: the bytes and journal of the last commit (files are appended, so lengths say it all). */
interface Durable {
  files: Map<string, Uint8Array>;
  open: Set<string>;
  journal: ConversionJournal | null;
}

/** A resumable FileSink in memory: `durable` is what the last commit (or drain) made safe. */
class MemorySink implements FileSink {
  readonly location = 'memory';
  readonly files: ManifestEntry[] = [];
  readonly bytes = new Map<string, Uint8Array[]>();
  readonly open_ = new Set<string>();
  readonly resumed: ConversionJournal | null;
  commits = 0;

  constructor(readonly durable: Durable) {
    this.resumed = durable.journal;
    for (const [p, b] of durable.files) this.bytes.set(p, [b.slice()]);
    for (const p of durable.open) this.open_.add(p);
  }

  private file(relPath: string): SinkFile {
    const parts = this.bytes.get(relPath) ?? [];
    this.bytes.set(relPath, parts);
    this.open_.add(relPath);
    let written = parts.reduce((n, b) => n + b.byteLength, 0);
    return {
      relPath,
      get written() {
        return written;
      },
      write(b: Uint8Array) {
        parts.push(b.slice());
        written += b.byteLength;
      },
      pad(alignment: number) {
        const gap = (alignment - (written % alignment)) % alignment;
        if (gap > 0) this.write(new Uint8Array(gap));
      },
      close: () => {
        this.open_.delete(relPath);
        const all = Buffer.concat(parts);
        this.files.push({ path: relPath, size: all.byteLength, sha256: sha256(all) });
      },
    };
  }

  open(relPath: string): SinkFile {
    this.bytes.delete(relPath);
    return this.file(relPath);
  }

  reopen(relPath: string): SinkFile {
    if (!this.open_.has(relPath)) throw new Error(`${relPath} is not open`);
    return this.file(relPath);
  }

  writeFile(relPath: string, bytes: Uint8Array): void {
    const f = this.open(relPath);
    f.write(bytes);
    f.close();
  }

  commit(journal: ConversionJournal): void {
    this.commits++;
    this.durable.files = new Map([...this.bytes].map(([p, parts]) => [p, Buffer.concat(parts)]));
    this.durable.open = new Set(this.open_);
    this.durable.journal = structuredClone(journal);
  }

  async drain(): Promise<void> {}

  async finish<T extends Record<string, unknown>>(fields: T): Promise<T & { files: ManifestEntry[] }> {
    // Files of graphs an earlier run finished were closed then: list every closed file once.
    const entries = new Map<string, ManifestEntry>();
    for (const [p, parts] of this.bytes) {
      if (this.open_.has(p)) continue;
      const all = Buffer.concat(parts);
      entries.set(p, { path: p, size: all.byteLength, sha256: sha256(all) });
    }
    const manifest = { ...fields, files: sortedEntries([...entries.values()]) };
    this.writeFile('manifest.json', manifestBytes(manifest));
    return manifest;
  }

  async abandon(): Promise<void> {}
}

/** A source folder whose safetensors reads fail after `budget` tensor reads (a connection lost, a tab closed). */
function failingSource(
  dir: string,
  budget: { left: number },
  counts: { bytes: number; reads: number },
): SourceFolder {
  const inner = nodeSourceFolder(dir);
  return {
    ...inner,
    label: inner.label,
    list: () => inner.list(),
    has: (n) => inner.has(n),
    readBytes: (n) => inner.readBytes(n),
    open: (name): ByteSource => {
      const src = inner.open(name);
      let headerRead = false;
      return {
        name: src.name,
        size: src.size,
        read: (offset, length) => {
          // The first two reads of a file are its header (length, then JSON): not tensors.
          if (offset === 0 || !headerRead) {
            headerRead = offset !== 0;
            return src.read(offset, length);
          }
          if (budget.left-- <= 0) throw new Error('connection lost');
          counts.bytes += length;
          counts.reads++;
          return src.read(offset, length);
        },
        close: () => src.close(),
      };
    },
  };
}

const config = getPreset('tiny');
config.text_config.num_hidden_layers = 3;
const choices: ConvertChoices = {
  quant: 'q4',
  visionQuant: 'fp16',
  shardSize: 150_000,
  maxDataFileBytes: 160 * 1024,
};

describe('per-tensor resume', () => {
  let input: string;
  let reference: Map<string, string>;
  let totalTensorBytes = 0;
  let largestTensor = 0;

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
    const counts = { bytes: 0, reads: 0 };
    const sink = new MemorySink({ files: new Map(), open: new Set(), journal: null });
    await convertFromSources({
      ...choices,
      input: failingSource(input, { left: Infinity }, counts),
      createSink: () => sink,
    });
    totalTensorBytes = counts.bytes;
    const ckpt = nodeSourceFolder(input);
    for (const f of ckpt.list().filter((n) => n.endsWith('.safetensors'))) {
      const header = JSON.parse(
        new TextDecoder().decode(
          readFileSync(path.join(input, f)).subarray(
            8,
            8 + Number(readFileSync(path.join(input, f)).readBigUInt64LE(0)),
          ),
        ),
      ) as Record<string, { data_offsets?: [number, number] }>;
      for (const e of Object.values(header))
        if (e.data_offsets) largestTensor = Math.max(largestTensor, e.data_offsets[1] - e.data_offsets[0]);
    }
  }, 120_000);

  afterAll(() => removeTempDirs());

  const outputs = (sink: MemorySink): Map<string, string> =>
    new Map([...sink.bytes].map(([p, parts]) => [p, sha256(Buffer.concat(parts))]));

  it.each([5, 40, 52, 66])(
    'an interruption after %i tensors resumes at the first unfinished one and writes the same files',
    async (k) => {
      const durable: Durable = { files: new Map(), open: new Set(), journal: null };
      const first = { bytes: 0, reads: 0 };
      await expect(
        convertFromSources({
          ...choices,
          input: failingSource(input, { left: k }, first),
          createSink: () => new MemorySink(durable),
        }),
      ).rejects.toThrow(/connection lost/);
      expect(durable.journal).not.toBeNull();
      const second = { bytes: 0, reads: 0 };
      const events: Array<{ kind: string; resumedTensors?: number }> = [];
      const sink = new MemorySink(durable);
      await convertFromSources({
        ...choices,
        input: failingSource(input, { left: Infinity }, second),
        createSink: () => sink,
        onProgress: (e) => events.push(e),
      });
      expect(outputs(sink)).toEqual(reference);
      // Nothing finished is fetched again: both runs together read at most one tensor more than one full run.
      expect(first.bytes).toBeGreaterThan(0);
      expect(second.bytes).toBeLessThan(totalTensorBytes);
      expect(first.bytes + second.bytes).toBeLessThanOrEqual(totalTensorBytes + largestTensor);
      expect(first.bytes + second.bytes).toBeGreaterThanOrEqual(totalTensorBytes);
      expect(events.some((e) => (e.resumedTensors ?? 0) > 0 || 'resumed' in e)).toBe(true);
    },
    60_000,
  );

  it('ignores a journal written for other choices and starts over', async () => {
    const durable: Durable = { files: new Map(), open: new Set(), journal: null };
    await expect(
      convertFromSources({
        ...choices,
        input: failingSource(input, { left: 20 }, { bytes: 0, reads: 0 }),
        createSink: () => new MemorySink(durable),
      }),
    ).rejects.toThrow(/connection lost/);
    const again = { bytes: 0, reads: 0 };
    const sink = new MemorySink({ files: new Map(), open: new Set(), journal: durable.journal });
    await convertFromSources({
      ...choices,
      shardSize: 300_000,
      input: failingSource(input, { left: Infinity }, again),
      createSink: () => sink,
    });
    expect(again.bytes).toBe(totalTensorBytes);
  }, 60_000);
});
