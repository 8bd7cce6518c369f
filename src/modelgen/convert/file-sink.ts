// Owns the converter's view of its output: files written sequentially and hashed on the way, listed in a manifest
// written last. Interfaces only, runtime-agnostic: Node writes a folder (output-folder.ts), the browser writes the
// IndexedDB weight store. A sink never decides what to write.
import type { GraphProgress, WrittenGraph } from './onnx-writer';

/** Where an interrupted conversion stopped: the graphs finished, and what is written of the one in progress. */
export interface ConversionJournal {
  /** Identifies the source and choices: a journal with another key is discarded. */
  key: string;
  graphsDone: WrittenGraph[];
  /** The graph in progress: its written initializers and the source tensors read for them, in read order. */
  current: (GraphProgress & { tensorsDone: string[] }) | null;
}

/** A written file as manifest.json lists it. */
export interface ManifestEntry {
  path: string;
  size: number;
  sha256: string;
}

/** A file being written sequentially, hashed on the way. */
export interface SinkFile {
  readonly relPath: string;
  /** Bytes written so far. */
  readonly written: number;
  /** Takes `bytes` (the sink may keep the view until `drain`; callers do not reuse it). */
  write(bytes: Uint8Array): void;
  /** Appends zeros up to a multiple of `alignment`. */
  pad(alignment: number): void;
  /** Ends the file; its entry appears in `files` once stored (after `drain`). */
  close(): void;
}

/** Where a conversion's files go. Call `finish` on success, `abandon` on failure. */
export interface FileSink {
  /** Opens `relPath` (e.g. 'onnx/x.onnx') for sequential writing. */
  open(relPath: string): SinkFile;
  /** Writes a whole small file. */
  writeFile(relPath: string, bytes: Uint8Array): void;
  /** Files closed and stored so far. */
  readonly files: readonly ManifestEntry[];
  /** Waits until every byte written so far is stored (an asynchronous store queues writes). */
  drain(): Promise<void>;
  /** Writes manifest.json (`fields` plus the sorted file list) last and publishes the output. */
  finish<T extends Record<string, unknown>>(fields: T): Promise<T & { files: ManifestEntry[] }>;
  /**
   * After an error or abort. A resumable sink keeps what its last `commit` covered (an interruption loses no
   * finished tensor); others remove what was written.
   */
  abandon(): Promise<void>;
  /** Resumable sinks: the journal of an interrupted run with the same key (set by the sink's start), else null. */
  readonly resumed?: ConversionJournal | null;
  /**
   * Resumable sinks: makes every byte written so far and `journal` durable together, synchronously (it is called
   * between tensors, inside a graph's synchronous build).
   */
  commit?(journal: ConversionJournal): void;
  /** Resumable sinks: a data file the resumed journal lists as open, for appending at its committed length. */
  reopen?(relPath: string): SinkFile;
  /** Where the output is, in messages and results. */
  readonly location: string;
}

/** Sorts manifest entries by path (byte order, as every front end must write them identically). */
export function sortedEntries(entries: readonly ManifestEntry[]): ManifestEntry[] {
  return [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** manifest.json's bytes: the same for every sink, so a converted model hashes the same everywhere. */
export function manifestBytes(manifest: Record<string, unknown>): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify(manifest, null, 2)}\n`);
}
