// Owns the converter's view of its output: data files written by position, small files whole, each hashed once
// complete and listed in a manifest written last. Interfaces only, runtime-agnostic: Node writes a folder (output-folder.ts), the browser writes the
// IndexedDB weight store. A sink never decides what to write.
/** How far the data pass got: an interrupted conversion resumes at the first tensor not yet written. */
export interface ConversionJournal {
  /** Identifies the source and choices: a journal with another key is discarded. */
  key: string;
  /** Source files read to the end (and verified when their sha256 is known). */
  filesDone: string[];
  /** The file being read: where its first unwritten tensor starts, and the sha256 state of the bytes before it. */
  cursor: { file: string; offset: number; hashState: string | null; refetched: boolean } | null;
  /** Bytes of the small initializers filled so far (they go into the protobufs, written last), by fill key. */
  inline: Record<string, number[]>;
  /** Data files complete (closed in the sink). */
  closed: string[];
}

/** A written file as manifest.json lists it. */
export interface ManifestEntry {
  path: string;
  size: number;
  sha256: string;
}

/** A data file written by position (initializers arrive in checkpoint order, not file order). */
export interface SinkFile {
  readonly relPath: string;
  /**
   * Writes `bytes` at `at`. The sink may keep the view until its next `commit` or `drain`, not longer: the data pass
   * reuses the buffer of a tensor's float32 form (a weight stored unchanged is written from it) for the next tensor.
   */
  writeAt(bytes: Uint8Array, at: number): void;
  /** Ends the file, `size` bytes long (every byte of it written); its entry appears in `files` once stored. */
  close(size: number): void;
}

/** Where a conversion's files go. Call `finish` on success, `abandon` on failure. */
export interface FileSink {
  /** Opens `relPath` (e.g. 'onnx/x_data') for writing by position; a resumed sink keeps its bytes so far. */
  open(relPath: string): SinkFile;
  /** Writes a whole small file. */
  writeFile(relPath: string, bytes: Uint8Array): void;
  /** Files closed and stored so far. */
  readonly files: readonly ManifestEntry[];
  /** Waits until every byte written so far is stored (an asynchronous store queues writes). */
  drain(): Promise<void>;
  /** The most bytes the sink holds at once of its own (copy and hash buffers), for the memory bound; absent: 0. */
  readonly bufferBytes?: number;
  /** Writes manifest.json (`fields` plus the sorted file list) last and publishes the output. */
  finish<T extends Record<string, unknown>>(fields: T): Promise<T & { files: ManifestEntry[] }>;
  /**
   * After an error or abort. A resumable sink keeps what its last `commit` covered (an interruption loses no
   * finished tensor); others remove what was written.
   */
  abandon(): Promise<void>;
  /** Resumable sinks: the journal of an interrupted run with the same key (set by the sink's start), else null. */
  readonly resumed?: ConversionJournal | null;
  /** Resumable sinks: makes every byte written so far and `journal` durable together. */
  commit?(journal: ConversionJournal): void | Promise<void>;
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
