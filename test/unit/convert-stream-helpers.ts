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
import { expect } from 'vitest';
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

/** What survives a crash: the bytes, the closed files and the journal of the last commit. */
export interface Durable {
  files: Map<string, Uint8Array>;
  closed: Set<string>;
  journal: ConversionJournal | null;
}

/** Nothing committed yet. */
export const emptyDurable = (): Durable => ({ files: new Map(), closed: new Set(), journal: null });

/**
 * A resumable FileSink in memory, written by position: `durable` is what the last commit made safe (a run that
 * breaks off resumes from it), and the journal's cursor is recorded at every commit. With `keepViews`, writes (and
 * the size check of a closed file) wait as views until the next commit or drain, as the browser's store sink keeps
 * them: a buffer reused too early shows.
 */
export class MemorySink implements FileSink {
  readonly location = 'memory';
  readonly bytes = new Map<string, Uint8Array>();
  readonly closed = new Set<string>();
  readonly resumed: ConversionJournal | null;
  readonly cursors: Array<[string, number, string | null]> = [];
  finished = false;
  private pending: Array<() => void> = [];

  constructor(
    readonly durable: Durable = emptyDurable(),
    private readonly keepViews = false,
  ) {
    this.resumed = durable.journal;
    for (const [p, b] of durable.files) this.bytes.set(p, b.slice());
    for (const p of durable.closed) this.closed.add(p);
  }

  get files(): ManifestEntry[] {
    return [...this.closed].map((p) => {
      const b = this.bytes.get(p) ?? new Uint8Array(0);
      return { path: p, size: b.byteLength, sha256: sha256(b) };
    });
  }

  open(relPath: string): SinkFile {
    if (this.closed.has(relPath)) throw new Error(`${relPath} is complete: it must not be opened again`);
    return {
      relPath,
      writeAt: (b: Uint8Array, at: number) => this.later(() => this.put(relPath, b, at)),
      close: (size: number) => {
        this.closed.add(relPath);
        this.later(() => expect(this.bytes.get(relPath)?.byteLength ?? 0).toBe(size));
      },
    };
  }

  private later(step: () => void): void {
    if (this.keepViews) this.pending.push(step);
    else step();
  }

  private put(relPath: string, b: Uint8Array, at: number): void {
    const old = this.bytes.get(relPath) ?? new Uint8Array(0);
    const grown = old.byteLength >= at + b.byteLength ? old : new Uint8Array(at + b.byteLength);
    if (grown !== old) grown.set(old);
    grown.set(b, at);
    this.bytes.set(relPath, grown);
  }

  private flush(): void {
    for (const step of this.pending) step();
    this.pending = [];
  }

  writeFile(relPath: string, bytes: Uint8Array): void {
    this.bytes.set(relPath, bytes.slice());
    this.closed.add(relPath);
  }

  commit(journal: ConversionJournal): void {
    this.flush();
    this.durable.files = new Map([...this.bytes].map(([p, b]) => [p, b.slice()]));
    this.durable.closed = new Set(this.closed);
    this.durable.journal = structuredClone(journal);
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
    this.finished = true;
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
