// Owns writing a conversion's output into the weight store (the browser's FileSink). Bytes of the graph being built go
// synchronously to the conversion's staging file (conversion-staging.ts) and, with the converter's journal, become
// durable after every tensor; once a graph is complete its files are hashed and copied into the store in chunks.
// manifest.json goes last and the model record only after it, so a model still being converted is never listed,
// loaded or verified as usable; an interrupted one resumes from its journal. It must not decide what to write.
import type { ConversionJournal, FileSink, ManifestEntry, SinkFile } from '../modelgen/convert/file-sink';
import { manifestBytes, sortedEntries } from '../modelgen/convert/file-sink';
import type { Component, Dtype } from '../shared/protocol';
import { ConversionStaging } from './conversion-staging';
import { createFileHasher } from './file-hasher';
import { getDefaultWeightStore, type FileRecord, type WeightStore } from './idb-weight-store';
import { modelIdOf } from './model-ref';

export interface StoreSinkOptions {
  store: WeightStore;
  /** The name the model is stored under: its ref is `{kind: 'local', id: name}`. */
  name: string;
  label?: string;
  /** Bytes per stored chunk (also the copy buffer: the sink's only buffer). */
  chunkSize: number;
}

/** A file in the staging file: `length` bytes from `start`; `stored` once copied into the weight store. */
interface Staged {
  path: string;
  start: number;
  length: number;
  closed: boolean;
  stored: boolean;
}

/** A staged file being appended to (bytes go straight to the staging file: nothing is buffered here). */
class StagedFile implements SinkFile {
  constructor(
    private readonly entry: Staged,
    private readonly writeAt: (bytes: Uint8Array, at: number) => void,
  ) {}

  get relPath(): string {
    return this.entry.path;
  }

  get written(): number {
    return this.entry.length;
  }

  write(bytes: Uint8Array): void {
    if (this.entry.closed) throw new Error(`${this.entry.path} is closed`);
    this.writeAt(bytes, this.entry.start + this.entry.length);
    this.entry.length += bytes.byteLength;
  }

  pad(alignment: number): void {
    const gap = (alignment - (this.entry.length % alignment)) % alignment;
    if (gap > 0) this.write(new Uint8Array(gap));
  }

  close(): void {
    this.entry.closed = true;
  }
}

/** What the staging journal holds: the converter's journal and the sink's own state at the same moment. */
interface SavedState {
  core: ConversionJournal;
  staged: Staged[];
  stored: ManifestEntry[];
}

function isSavedState(v: unknown): v is SavedState {
  const s = v as Partial<SavedState> | null;
  return (
    typeof s === 'object' &&
    s !== null &&
    typeof s.core?.key === 'string' &&
    Array.isArray(s.staged) &&
    Array.isArray(s.stored)
  );
}

/** The weight store as a conversion's output. */
export class StoreSink implements FileSink {
  readonly store: WeightStore;
  /** The store key (`local:<name>`). */
  readonly id: string;
  readonly chunkSize: number;
  resumed: ConversionJournal | null = null;
  private stored: ManifestEntry[] = [];
  private staged: Staged[] = [];
  private end = 0;
  private staging: ConversionStaging | null = null;

  constructor(private readonly o: StoreSinkOptions) {
    this.store = o.store;
    this.id = modelIdOf({ kind: 'local', id: o.name });
    this.chunkSize = o.chunkSize;
  }

  get location(): string {
    return this.o.name;
  }

  get files(): readonly ManifestEntry[] {
    return this.stored;
  }

  /**
   * Opens the conversion's staging. A journal with `key` (same source, same choices) is resumed; otherwise whatever
   * an earlier attempt stored under this id goes.
   */
  async start(key: string): Promise<this> {
    this.staging = await ConversionStaging.open(this.o.name);
    const saved = this.staging.readJournal();
    if (isSavedState(saved) && saved.core.key === key) {
      this.resumed = saved.core;
      this.staged = saved.staged;
      this.stored = saved.stored;
      this.end = this.staged.reduce((n, s) => Math.max(n, s.start + s.length), 0);
      this.staging.truncate(this.end);
    } else {
      await this.store.deleteModel(this.id);
      this.staging.truncate(0);
      this.staging.writeJournal(null);
    }
    return this;
  }

  private get scratch(): ConversionStaging {
    if (this.staging === null) throw new Error('StoreSink used before start()');
    return this.staging;
  }

  private file(entry: Staged): SinkFile {
    return new StagedFile(entry, (bytes, at) => {
      this.scratch.write(bytes, at);
      this.end = at + bytes.byteLength;
    });
  }

  open(relPath: string): SinkFile {
    if (this.staged.some((s) => !s.closed)) throw new Error(`${relPath}: another staged file is still open`);
    this.staged = this.staged.filter((s) => s.path !== relPath);
    const entry: Staged = { path: relPath, start: this.end, length: 0, closed: false, stored: false };
    this.staged.push(entry);
    return this.file(entry);
  }

  reopen(relPath: string): SinkFile {
    const entry = this.staged.at(-1);
    if (entry === undefined || entry.path !== relPath || entry.closed)
      throw new Error(`${relPath} is not the open file of the interrupted conversion`);
    return this.file(entry);
  }

  writeFile(relPath: string, bytes: Uint8Array): void {
    const f = this.open(relPath);
    f.write(bytes);
    f.close();
  }

  commit(journal: ConversionJournal): void {
    // Once every staged file is in the weight store, the staging starts again from 0.
    const reset = this.staged.length > 0 && this.staged.every((s) => s.stored);
    if (reset) {
      this.staged = [];
      this.end = 0;
    }
    this.scratch.writeJournal({
      core: journal,
      staged: this.staged,
      stored: this.stored,
    } satisfies SavedState);
    if (reset) this.scratch.truncate(0);
  }

  /** Copies every closed staged file into the weight store, hashing it on the way (one chunk in memory at a time). */
  async drain(): Promise<void> {
    for (const entry of this.staged) {
      if (!entry.closed || entry.stored) continue;
      await this.store.deleteFile(this.id, entry.path);
      const hasher = await createFileHasher();
      if (hasher === null) throw new Error('sha256 is unavailable');
      const count = Math.ceil(entry.length / this.chunkSize);
      const record: FileRecord = {
        modelId: this.id,
        path: entry.path,
        size: null,
        hashSource: 'computed',
        chunkSize: this.chunkSize,
        chunkCount: 0,
        storedBytes: 0,
        complete: false,
        verified: false,
        updatedAt: Date.now(),
      };
      for (let index = 0; index < count; index++) {
        const at = index * this.chunkSize;
        const bytes = this.scratch.read(Math.min(this.chunkSize, entry.length - at), entry.start + at);
        hasher.update(bytes);
        const last = index === count - 1;
        Object.assign(record, {
          chunkCount: index + 1,
          storedBytes: at + bytes.byteLength,
          updatedAt: Date.now(),
        });
        if (last)
          Object.assign(record, { size: entry.length, complete: true, sha256: hasher.digest().sha256 });
        await this.store.putChunk({ ...record }, index, bytes);
      }
      if (count === 0) {
        const sha256 = hasher.digest().sha256;
        await this.store.putFile({ ...record, size: 0, complete: true, sha256 });
        record.sha256 = sha256;
      }
      entry.stored = true;
      this.stored = [
        ...this.stored.filter((f) => f.path !== entry.path),
        { path: entry.path, size: entry.length, sha256: record.sha256 as string },
      ];
    }
  }

  async finish<T extends Record<string, unknown>>(fields: T): Promise<T & { files: ManifestEntry[] }> {
    await this.drain();
    const manifest = { ...fields, files: sortedEntries(this.stored) };
    this.writeFile('manifest.json', manifestBytes(manifest));
    await this.drain();
    const dtypes = (fields as { dtypes?: Record<Component, Dtype> }).dtypes ?? null;
    const now = Date.now();
    await this.store.putModel({
      id: this.id,
      ref: { kind: 'local', id: this.o.name },
      dtype: dtypes,
      files: this.stored.map((f) => ({ path: f.path, size: f.size })),
      ...(this.o.label === undefined ? {} : { label: this.o.label }),
      createdAt: now,
      updatedAt: now,
    });
    this.staging?.close();
    this.staging = null;
    await ConversionStaging.remove(this.o.name);
    return manifest;
  }

  /** Keeps what the last commit covered, for a later run to resume (see discardConversion to start over). */
  async abandon(): Promise<void> {
    this.staging?.close();
    this.staging = null;
  }
}

/** True when conversion `name` was interrupted and can resume (its finished tensors are kept). */
export function hasPausedConversion(name: string): Promise<boolean> {
  return ConversionStaging.exists(name);
}

/** Deletes an unfinished conversion: its staging and whatever it stored under `name`. */
export async function discardConversion(
  name: string,
  store: WeightStore = getDefaultWeightStore(),
): Promise<void> {
  await ConversionStaging.remove(name);
  await store.deleteModel(modelIdOf({ kind: 'local', id: name }));
}
