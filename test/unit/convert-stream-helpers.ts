// Test helpers for the data pass's streaming: checkpoint bytes handed in pieces split at odd places (as network
// chunks are), a source whose whole-range reads are refused, and an in-memory resumable sink that records every
// journal commit (and, like the browser's store, may keep written views until its next commit or drain).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ByteSource, SequentialReader, SourceFolder } from '../../src/modelgen/convert/byte-source';
import {
  manifestBytes,
  sortedEntries,
  type ConversionJournal,
  type FileSink,
  type ManifestEntry,
  type SinkFile,
} from '../../src/modelgen/convert/file-sink';
import { nodeSourceFolder } from '../../src/modelgen/convert/node-source';

export const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Piece lengths, cycled: odd ones split bf16 and f32 elements; a prime one drifts across every alignment. */
export const ODD = [1, 3, 7, 4093, 2, 5, 65_537, 11];

/** `bytes` in pieces of the ODD lengths, each a view at an odd offset inside a larger buffer (as network chunks are). */
export function* oddPieces(bytes: Uint8Array, start = 0): Generator<Uint8Array> {
  for (let at = 0, i = start; at < bytes.byteLength; i++) {
    const n = Math.min(ODD[i % ODD.length] as number, bytes.byteLength - at);
    const host = new Uint8Array(n + 3);
    host.set(bytes.subarray(at, at + n), 1);
    yield host.subarray(1, 1 + n);
    at += n;
  }
}

/** A resumable sink in memory that records the journal's cursor at every commit. */
export class RecordingSink implements FileSink {
  readonly location = 'memory';
  readonly bytes = new Map<string, Uint8Array>();
  readonly closed = new Set<string>();
  readonly cursors: Array<[string, number, string | null]> = [];
  journal: ConversionJournal | null = null;

  /** Writes kept as views until the next commit or drain (`keepViews`: as the browser's store sink does). */
  private pending: Array<() => void> = [];

  constructor(
    readonly resumed: ConversionJournal | null = null,
    files?: Map<string, Uint8Array>,
    private readonly keepViews = false,
  ) {
    for (const [p, b] of files ?? []) this.bytes.set(p, b.slice());
    for (const p of resumed?.closed ?? []) this.closed.add(p);
  }

  get files(): ManifestEntry[] {
    return [...this.closed].map((p) => {
      const b = this.bytes.get(p) ?? new Uint8Array(0);
      return { path: p, size: b.byteLength, sha256: sha256(b) };
    });
  }

  open(relPath: string): SinkFile {
    return {
      relPath,
      writeAt: (b: Uint8Array, at: number) => {
        if (this.keepViews) this.pending.push(() => this.put(relPath, b, at));
        else this.put(relPath, b, at);
      },
      close: () => this.closed.add(relPath),
    };
  }

  private put(relPath: string, b: Uint8Array, at: number): void {
    const old = this.bytes.get(relPath) ?? new Uint8Array(0);
    const grown = old.byteLength >= at + b.byteLength ? old : new Uint8Array(at + b.byteLength);
    if (grown !== old) grown.set(old);
    grown.set(b, at);
    this.bytes.set(relPath, grown);
  }

  private flush(): void {
    for (const put of this.pending) put();
    this.pending = [];
  }

  writeFile(relPath: string, bytes: Uint8Array): void {
    this.bytes.set(relPath, bytes.slice());
    this.closed.add(relPath);
  }

  commit(journal: ConversionJournal): void {
    this.flush();
    this.journal = structuredClone(journal);
    const c = journal.cursor;
    if (c !== null) this.cursors.push([c.file, c.offset, c.hashState]);
  }

  drain(): Promise<void> {
    this.flush();
    return Promise.resolve();
  }

  async finish<T extends Record<string, unknown>>(fields: T): Promise<T & { files: ManifestEntry[] }> {
    const manifest = { ...fields, files: sortedEntries(this.files) };
    this.writeFile('manifest.json', manifestBytes(manifest));
    return manifest;
  }

  async abandon(): Promise<void> {}
}

/**
 * The checkpoint in `dir` with published sha256s; `stream` hands its bytes in ODD pieces (its `read` of a whole
 * range is refused past the header: the data pass must not assemble a tensor), failing after `budget` pieces.
 */
export function piecewiseSource(dir: string, o: { stream: boolean; budget?: number }): SourceFolder {
  const inner = nodeSourceFolder(dir);
  let left = o.budget ?? Infinity;
  return {
    ...inner,
    sha256: (n: string) => sha256(readFileSync(path.join(dir, n))),
    open: (name): ByteSource => {
      const src = inner.open(name);
      if (!o.stream) return src;
      const whole = readFileSync(path.join(dir, name));
      return {
        name: src.name,
        size: src.size,
        read: (offset, length) => src.read(offset, length),
        stream: (offset): SequentialReader => {
          let at = offset;
          const take = async (
            length: number,
            each: (p: Uint8Array) => void | Promise<void>,
          ): Promise<void> => {
            for (const piece of oddPieces(whole.subarray(at, at + length), at)) {
              if (left-- <= 0) throw new Error('connection lost');
              await each(piece);
            }
            at += length;
          };
          return {
            pieces: take,
            skip: (length) => take(length, () => undefined),
            close: () => undefined,
          };
        },
        close: () => src.close(),
      };
    },
  };
}
