// Owns writing a conversion's output into the weight store (the browser's FileSink): each file hashed and stored in
// chunks as it is written, manifest.json stored last, and the model record written only after it, so a model still
// being converted is never listed, loaded or verified as usable. It must not decide what to write (the converter does).
import type { FileSink, ManifestEntry, SinkFile } from '../modelgen/convert/file-sink';
import { manifestBytes, sortedEntries } from '../modelgen/convert/file-sink';
import type { Component, Dtype } from '../shared/protocol';
import { createFileHasher, type FileHasher } from './file-hasher';
import type { FileRecord, WeightStore } from './idb-weight-store';
import { modelIdOf } from './model-ref';

export interface StoreSinkOptions {
  store: WeightStore;
  /** The name the model is stored under: its ref is `{kind: 'local', id: name}`. */
  name: string;
  label?: string;
  /** Bytes per stored chunk. */
  chunkSize: number;
}

/** One output file: bytes gathered into chunks, each hashed and stored in order on the sink's queue. */
class StoreFile implements SinkFile {
  written = 0;
  private chunk: Uint8Array;
  private filled = 0;
  private chunks = 0;
  private hasher: FileHasher | null = null;

  constructor(
    readonly relPath: string,
    private readonly sink: StoreSink,
  ) {
    this.chunk = new Uint8Array(sink.chunkSize);
  }

  write(bytes: Uint8Array): void {
    this.written += bytes.byteLength;
    for (let at = 0; at < bytes.byteLength;) {
      const n = Math.min(bytes.byteLength - at, this.chunk.byteLength - this.filled);
      this.chunk.set(bytes.subarray(at, at + n), this.filled);
      this.filled += n;
      at += n;
      if (this.filled === this.chunk.byteLength) this.flush(false);
    }
  }

  pad(alignment: number): void {
    const gap = (alignment - (this.written % alignment)) % alignment;
    if (gap > 0) this.write(new Uint8Array(gap));
  }

  close(): void {
    this.flush(true);
  }

  /** Queues the current chunk (a full one, or the last) for hashing and storing; the file's record follows it. */
  private flush(last: boolean): void {
    if (this.filled === 0 && !last) return;
    const bytes = this.chunk.subarray(0, this.filled);
    const index = this.chunks++;
    const stored = this.written;
    this.chunk = last ? new Uint8Array(0) : new Uint8Array(this.sink.chunkSize);
    this.filled = 0;
    this.sink.enqueue(async () => {
      this.hasher ??= await createFileHasher();
      if (this.hasher === null) throw new Error('sha256 is unavailable');
      this.hasher.update(bytes);
      const record: FileRecord = {
        modelId: this.sink.id,
        path: this.relPath,
        size: last ? stored : null,
        hashSource: 'computed',
        chunkSize: this.sink.chunkSize,
        chunkCount: index + (bytes.byteLength > 0 ? 1 : 0),
        storedBytes: stored,
        complete: last,
        verified: false,
        updatedAt: Date.now(),
      };
      if (last) {
        const entry: ManifestEntry = {
          path: this.relPath,
          size: stored,
          sha256: this.hasher.digest().sha256,
        };
        record.sha256 = entry.sha256;
        if (bytes.byteLength > 0) await this.sink.store.putChunk(record, index, bytes.slice());
        else await this.sink.store.putFile(record);
        this.sink.closed.push(entry);
      } else {
        await this.sink.store.putChunk(record, index, bytes);
      }
    });
  }
}

/** The weight store as a conversion's output. */
export class StoreSink implements FileSink {
  readonly store: WeightStore;
  /** The store key (`local:<name>`). */
  readonly id: string;
  readonly chunkSize: number;
  readonly closed: ManifestEntry[] = [];
  private queue: Promise<void> = Promise.resolve();
  private failure: unknown = null;

  constructor(private readonly o: StoreSinkOptions) {
    this.store = o.store;
    this.id = modelIdOf({ kind: 'local', id: o.name });
    this.chunkSize = o.chunkSize;
  }

  get location(): string {
    return this.o.name;
  }

  get files(): readonly ManifestEntry[] {
    return this.closed;
  }

  /** Starts from nothing: whatever an earlier, abandoned attempt stored under this id goes. */
  async start(): Promise<this> {
    await this.store.deleteModel(this.id);
    return this;
  }

  enqueue(work: () => Promise<void>): void {
    this.queue = this.queue.then(async () => {
      if (this.failure === null) {
        try {
          await work();
        } catch (error) {
          this.failure = error;
        }
      }
    });
  }

  open(relPath: string): SinkFile {
    return new StoreFile(relPath, this);
  }

  writeFile(relPath: string, bytes: Uint8Array): void {
    const f = this.open(relPath);
    f.write(bytes);
    f.close();
  }

  async drain(): Promise<void> {
    await this.queue;
    if (this.failure !== null) throw this.failure;
  }

  async finish<T extends Record<string, unknown>>(fields: T): Promise<T & { files: ManifestEntry[] }> {
    await this.drain();
    const manifest = { ...fields, files: sortedEntries(this.closed) };
    this.writeFile('manifest.json', manifestBytes(manifest));
    await this.drain();
    const dtypes = (fields as { dtypes?: Record<Component, Dtype> }).dtypes ?? null;
    const now = Date.now();
    await this.store.putModel({
      id: this.id,
      ref: { kind: 'local', id: this.o.name },
      dtype: dtypes,
      files: this.closed.map((f) => ({ path: f.path, size: f.size })),
      ...(this.o.label === undefined ? {} : { label: this.o.label }),
      createdAt: now,
      updatedAt: now,
    });
    return manifest;
  }

  async abandon(): Promise<void> {
    await this.queue;
    await this.store.deleteModel(this.id);
  }
}
