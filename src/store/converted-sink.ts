// Owns writing a conversion's output into the weight store (the browser's FileSink). Data files are written by
// position into staged files (conversion-staging.ts) and, with the converter's journal, become durable after every
// tensor; once a data file is complete it is hashed and copied into the store in chunks and its staged copy goes.
// manifest.json goes last and the model record only after it, so a model still being converted is never listed,
// loaded or verified as usable; an interrupted one resumes from its journal. It must not decide what to write.
import type { ConversionJournal, FileSink, ManifestEntry, SinkFile } from '../modelgen/convert/file-sink';
import { manifestBytes, sortedEntries } from '../modelgen/convert/file-sink';
import type { Component, Dtype } from '../shared/protocol';
import { ConversionStaging } from './conversion-staging';
import { openChunkHasher } from './chunk-hasher';
import { getDefaultWeightStore, type FileRecord, type WeightStore } from './idb-weight-store';
import { modelIdOf } from './model-ref';

export interface StoreSinkOptions {
  store: WeightStore;
  /** The name the model is stored under: its ref is `{kind: 'local', id: name}`. */
  name: string;
  label?: string;
  /** Bytes per stored chunk (also the copy buffer: the sink's only buffer). */
  chunkSize: number;
  /** Output bytes put into the store (each chunk of a completed file, once IndexedDB took it). */
  onStored?: (path: string, bytes: number) => void;
}

/** A staged output file: `size` once closed; `stored` once copied into the weight store. */
interface Staged {
  path: string;
  size: number | null;
  stored: boolean;
}

/** What the staging journal holds: the converter's journal and the sink's own state at the same moment. */
interface SavedState {
  core: ConversionJournal;
  stored: ManifestEntry[];
}

function isSavedState(v: unknown): v is SavedState {
  const s = v as Partial<SavedState> | null;
  // A journal of the per-graph format (no filesDone) is not resumed: its staging is laid out differently.
  return (
    typeof s === 'object' &&
    s !== null &&
    typeof s.core?.key === 'string' &&
    Array.isArray(s.core.filesDone) &&
    Array.isArray(s.stored)
  );
}

/** The weight store as a conversion's output. */
export class StoreSink implements FileSink {
  readonly store: WeightStore;
  /** The store key (`local:<name>`). */
  readonly id: string;
  readonly chunkSize: number;
  /** One chunk read from the staged file and hashed while the one before goes into IndexedDB. */
  get bufferBytes(): number {
    return 2 * this.chunkSize;
  }
  resumed: ConversionJournal | null = null;
  private stored: ManifestEntry[] = [];
  private readonly staged = new Map<string, Staged>();
  /** Writes not yet in their staged file (handles open asynchronously): at most one tensor's outputs. */
  private queued: Array<{ path: string; bytes: Uint8Array; at: number }> = [];
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
   * an earlier attempt staged or stored under this id goes.
   */
  async start(key: string): Promise<this> {
    this.staging = await ConversionStaging.open(this.o.name);
    const saved = this.staging.readJournal();
    if (isSavedState(saved) && saved.core.key === key) {
      this.resumed = saved.core;
      this.stored = saved.stored;
    } else {
      await this.store.deleteModel(this.id);
      await this.staging.clear();
      this.staging.writeJournal(null);
    }
    return this;
  }

  private get scratch(): ConversionStaging {
    if (this.staging === null) throw new Error('StoreSink used before start()');
    return this.staging;
  }

  open(relPath: string): SinkFile {
    const entry: Staged = { path: relPath, size: null, stored: false };
    this.staged.set(relPath, entry);
    return {
      relPath,
      writeAt: (bytes, at) => {
        if (entry.size !== null) throw new Error(`${relPath} is closed`);
        this.queued.push({ path: relPath, bytes, at });
      },
      close: (size) => {
        entry.size = size;
      },
    };
  }

  writeFile(relPath: string, bytes: Uint8Array): void {
    const f = this.open(relPath);
    f.writeAt(bytes, 0);
    f.close(bytes.byteLength);
  }

  /** Puts the queued writes into their staged files. */
  private async flush(): Promise<void> {
    const queued = this.queued;
    this.queued = [];
    for (const w of queued) (await this.scratch.file(w.path)).write(w.bytes, w.at);
  }

  async commit(journal: ConversionJournal): Promise<void> {
    await this.flush();
    this.scratch.writeJournal({ core: journal, stored: this.stored } satisfies SavedState);
    // Staged copies of stored files are needed no more once the journal says they are stored.
    for (const entry of this.staged.values()) {
      if (!entry.stored) continue;
      await this.scratch.remove(entry.path);
      this.staged.delete(entry.path);
    }
  }

  /** Copies every closed staged file into the weight store, hashing it on the way (one chunk in memory at a time). */
  async drain(): Promise<void> {
    await this.flush();
    for (const entry of this.staged.values()) {
      if (entry.size === null || entry.stored) continue;
      const size = entry.size;
      const file = await this.scratch.file(entry.path);
      if (file.size !== size) throw new Error(`${entry.path} is staged with ${file.size} bytes, not ${size}`);
      await this.store.deleteFile(this.id, entry.path);
      // sha256 runs in the hash worker while the previous chunk goes into IndexedDB (puts stay in order).
      const hasher = await openChunkHasher();
      if (hasher === null) throw new Error('sha256 is unavailable');
      const count = Math.ceil(size / this.chunkSize);
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
      let put: Promise<void> = Promise.resolve();
      try {
        for (let index = 0; index < count; index++) {
          const at = index * this.chunkSize;
          const hashed = await hasher.update(file.read(Math.min(this.chunkSize, size - at), at));
          const bytes = hashed.bytes;
          await put;
          const last = index === count - 1;
          Object.assign(record, {
            chunkCount: index + 1,
            storedBytes: at + bytes.byteLength,
            updatedAt: Date.now(),
          });
          if (last) Object.assign(record, { size, complete: true, sha256: (await hasher.digest()).sha256 });
          put = this.store
            .putChunk({ ...record }, index, bytes)
            .then(() => this.o.onStored?.(entry.path, bytes.byteLength));
          put.catch(() => undefined); // awaited before the next chunk and after the last
        }
        await put;
        if (count === 0) record.sha256 = (await hasher.digest()).sha256;
      } finally {
        hasher.close();
      }
      if (count === 0)
        await this.store.putFile({ ...record, size: 0, complete: true, sha256: record.sha256 as string });
      entry.stored = true;
      this.stored = [
        ...this.stored.filter((f) => f.path !== entry.path),
        { path: entry.path, size, sha256: record.sha256 as string },
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
