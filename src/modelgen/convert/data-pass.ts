// Owns the converter's data pass: every checkpoint file is read once, front to back (tensors in file order), its
// sha256 checked as the bytes pass when the source publishes one (a mismatch refetches the file once, then fails as
// `integrity`), and each tensor the graphs need is held (as float32, filled piece by piece as its bytes arrive: they
// are never assembled) only while the fills made from it write their bytes; it reports the most it held, its memory
// bound. After each tensor the journal is committed, so an interrupted run resumes at the first unwritten tensor. It
// knows no model structure (the fills carry it) and no runtime (sources, sinks and the hash are interfaces or
// portable).
import { createSHA256 } from 'hash-wasm';
import { throwIfAborted } from '../../shared/abort';
import { toHex } from '../../shared/hex';
import { RANGE_PIECE_BYTES, rangeReader, type SequentialReader, type SourceFolder } from './byte-source';
import type { Checkpoint } from './checkpoint';
import type { CheckpointWeights } from './checkpoint-weights';
import { ConvertError } from './errors';
import type { ConversionJournal, FileSink, SinkFile } from './file-sink';
import type { DataFileWriter, PendingFill } from './onnx-writer';

/** A reader of `name` in `folder` from `offset` (the source's stream, else its range reads). */
function openReader(
  folder: SourceFolder,
  name: string,
  offset: number,
): { reader: SequentialReader; close: () => void } {
  const source = folder.open(name);
  const reader = source.stream?.(offset) ?? rangeReader(source, offset);
  return {
    reader,
    close: () => {
      reader.close();
      source.close();
    },
  };
}

/** A source file's sha256 as the data pass needs it: bytes in, the state after them (for the journal), the digest. */
export interface SourceHash {
  /**
   * Hashes `bytes` after everything given before. The caller reuses `bytes` once this returns: an implementation
   * copies what it keeps. A promise asks the caller to wait before the next update (a bounded queue is full).
   */
  update(bytes: Uint8Array): void | Promise<void>;
  /** The saved state after every byte given so far. */
  state(): Promise<Uint8Array>;
  /** The hex digest of every byte given; the hash is unusable afterwards. */
  digest(): Promise<string>;
}

/** Opens a source hash, resumed from `saved` (a `state()` of an earlier run) when given. */
export type OpenSourceHash = (saved: Uint8Array | null) => Promise<SourceHash>;

/** The source hash in this thread (Node, and wherever no other thread is offered). */
export const hashInThisThread: OpenSourceHash = async (saved) => {
  const h = await createSHA256();
  if (saved !== null) h.load(saved);
  return {
    update: (bytes) => void h.update(bytes),
    state: () => Promise.resolve(h.save()),
    digest: () => Promise.resolve(h.digest('hex')),
  };
};

interface DataFileState {
  handle: SinkFile | null;
  size: number;
  /** Fills not yet final (run, and their source file verified when it has a sha256). */
  outstanding: number;
}

/** The data files of every graph: opened on first write, closed once complete. */
export class DataFiles implements DataFileWriter {
  private readonly files = new Map<string, DataFileState>();
  readonly closed: Set<string>;
  private held: ArrayBufferLike | null = null;
  private allocated = 0;

  constructor(
    private readonly sink: FileSink,
    closed: readonly string[],
  ) {
    this.closed = new Set(closed);
  }

  placed(relPath: string): void {
    this.files.set(relPath, { handle: null, size: 0, outstanding: 0 });
  }

  private state(relPath: string): DataFileState {
    const s = this.files.get(relPath);
    if (s === undefined) throw new Error(`${relPath} was never placed`);
    return s;
  }

  /**
   * Starts counting the bytes written from buffers other than `held` (a tensor's float32 form, which a weight
   * stored unchanged is written from) and returns the count since the last call: what a tensor's fills allocated.
   */
  tally(held: ArrayBufferLike | null): number {
    const n = this.allocated;
    this.held = held;
    this.allocated = 0;
    return n;
  }

  /** Every byte written so far (for the yardstick: a tensor's source bytes + what it became). */
  written = 0;

  writeAt(relPath: string, bytes: Uint8Array, at: number): void {
    if (bytes.buffer !== this.held) this.allocated += bytes.byteLength;
    this.written += bytes.byteLength;
    // A file an interrupted run completed is already stored: its bytes are not written again.
    if (this.closed.has(relPath)) return;
    const s = this.state(relPath);
    s.handle ??= this.sink.open(relPath);
    s.handle.writeAt(bytes, at);
  }

  setSize(relPath: string, size: number): void {
    this.state(relPath).size = size;
  }

  expect(relPath: string): void {
    this.state(relPath).outstanding++;
  }

  settle(relPath: string): void {
    this.state(relPath).outstanding--;
  }

  /** Closes every complete file; true when any was closed. */
  closeComplete(): boolean {
    let any = false;
    for (const [relPath, s] of this.files) {
      if (s.outstanding > 0 || this.closed.has(relPath)) continue;
      s.handle ??= this.sink.open(relPath);
      s.handle.close(s.size);
      s.handle = null;
      this.closed.add(relPath);
      any = true;
    }
    return any;
  }

  get allClosed(): boolean {
    return [...this.files.keys()].every((f) => this.closed.has(f));
  }
}

export interface DataPassOptions {
  weights: CheckpointWeights;
  /** The checkpoints in reading order (main, then a separate CLIP one), each with the folder it was opened over. */
  checkpoints: ReadonlyArray<{ checkpoint: Checkpoint; folder: SourceFolder }>;
  fills: readonly PendingFill[];
  files: DataFiles;
  journal: ConversionJournal;
  sink: FileSink;
  signal?: AbortSignal | undefined;
  /** Where source files are hashed (default this thread; a browser passes one that hashes in another thread). */
  openHash?: OpenSourceHash | undefined;
  /**
   * The float32 block a tensor streamed in rows is widened into (default {@link ROW_BLOCK_BYTES}; 0: every tensor
   * is held whole, the reference the row-streamed output is checked against).
   */
  rowBlockBytes?: number | undefined;
  /** After each tensor's fills: `done` of `total` tensors the graphs read. */
  onTensor?: (done: number, total: number, name: string) => void;
}

const unhex = (s: string): Uint8Array => Uint8Array.from(s.match(/../g) ?? [], (x) => parseInt(x, 16));

/**
 * What the data pass held at its heaviest tensor, and the fixed buffers beside it: together the memory it is bound
 * by (the sum of the three).
 */
export interface HeaviestTensor {
  /** The checkpoint tensor (none when every tensor was written by an earlier run). */
  tensor: string | null;
  /** Its float32 form (padded rows included): the one whole-tensor buffer the pass allocates. */
  tensorBytes: number;
  /** The bytes its fills computed and wrote (a weight stored unchanged is written from the float32 form: 0). */
  outputBytes: number;
  /**
   * The most a tensor streamed in row blocks held at once: one block as float32 + the bytes its fills computed from
   * it (written, and stored by the sink, before the next block).
   */
  rowBlockBytes: number;
  /** What the pass and the sink hold besides, whatever the tensor: {@link STREAM_BUFFER_BYTES} + the sink's own. */
  bufferBytes: number;
  /** For comparison, the largest source tensor: its bytes in the checkpoint and every byte written from it. */
  largest: { tensor: string | null; sourceBytes: number; outputBytes: number };
}

/** The memory bound a {@link HeaviestTensor} states: the sum of what it held at once. */
export const boundOf = (h: HeaviestTensor): number =>
  h.tensorBytes + h.outputBytes + h.rowBlockBytes + h.bufferBytes;

/**
 * The float32 block (4 MiB) a tensor streams in when every use of it works row by row (a weight stored as it is,
 * q4 MatMulNBits, whose blocks run along each row): such a tensor never exists whole.
 */
export const ROW_BLOCK_BYTES = 4 << 20;

/**
 * The most the data pass holds besides the tensor in flight and its outputs: the piece in hand (a network chunk
 * or {@link RANGE_PIECE_BYTES}) and a copy of a misaligned one, and the browser's source-hash batches (at most
 * four buffers of 4 MiB: see src/store/source-hash.ts). Fixed: it does not grow with the tensor.
 */
export const STREAM_BUFFER_BYTES = 2 * RANGE_PIECE_BYTES + 4 * (4 << 20);

/**
 * Runs the data pass. Fills of tensors the journal says are written are not run (their inline bytes come from the
 * journal); every other fill runs exactly once per read of its file. Returns the heaviest tensor it held.
 * @throws ConvertError 'integrity' (a file's bytes twice differ from its sha256), 'truncated'; AbortError.
 */
export async function runDataPass(o: DataPassOptions): Promise<HeaviestTensor> {
  const { journal, files, weights } = o;
  const openHash = o.openHash ?? hashInThisThread;
  // Fills by checkpoint file and source tensor name.
  const byFile = new Map<string, Map<string, PendingFill[]>>();
  const fileId = (ci: number, name: string): string => (ci === 0 ? name : `clip/${name}`);
  const ckIndex = new Map(o.checkpoints.map((c, i) => [c.checkpoint, i]));
  for (const fill of o.fills) {
    const at = weights.locate(fill.source);
    const file = at === null ? null : at.checkpoint.fileOf(at.source.name);
    if (at === null || file === null) throw new Error(`${fill.source} is in no checkpoint file`);
    const id = fileId(ckIndex.get(at.checkpoint) ?? 0, file);
    const tensors = byFile.get(id) ?? new Map<string, PendingFill[]>();
    byFile.set(id, tensors);
    const list = tensors.get(at.source.name) ?? [];
    tensors.set(at.source.name, list);
    list.push(fill);
    if (fill.dataFile !== null) files.expect(fill.dataFile);
  }
  const total = [...byFile.values()].reduce((n, t) => n + t.size, 0);
  let done = 0;
  let heaviest: HeaviestTensor = {
    tensor: null,
    tensorBytes: 0,
    outputBytes: 0,
    rowBlockBytes: 0,
    bufferBytes: STREAM_BUFFER_BYTES + (o.sink.bufferBytes ?? 0),
    largest: { tensor: null, sourceBytes: 0, outputBytes: 0 },
  };
  const rowBlockBytes = o.rowBlockBytes ?? ROW_BLOCK_BYTES;
  const restore = (fill: PendingFill): void => {
    const inline = journal.inline[fill.key];
    if (fill.dataFile === null && inline === undefined)
      throw new ConvertError('resume-mismatch', `The journal lacks ${fill.key}. Start the conversion over.`);
    if (inline !== undefined) fill.restore(Uint8Array.from(inline));
  };
  const settle = (fills: readonly PendingFill[]): void => {
    for (const f of fills) if (f.dataFile !== null) files.settle(f.dataFile);
  };
  const closeComplete = async (): Promise<void> => {
    if (!files.closeComplete()) return;
    await o.sink.drain();
    journal.closed = [...files.closed];
    await o.sink.commit?.(journal);
  };

  for (const [ci, { checkpoint, folder }] of o.checkpoints.entries()) {
    for (const { name, file } of checkpoint.fileList) {
      const id = fileId(ci, name);
      const tensors = byFile.get(id) ?? new Map<string, PendingFill[]>();
      if (journal.filesDone.includes(id)) {
        for (const fills of tensors.values()) {
          fills.forEach(restore);
          settle(fills);
        }
        done += tensors.size;
        await closeComplete();
        continue;
      }
      const expected = folder.sha256?.(name) ?? null;
      if (tensors.size === 0 && expected === null) continue;
      const entries = [...file.entries.values()].sort((a, b) => a.offset - b.offset);
      const dataStart = entries[0]?.offset ?? 0;
      let cursor = journal.cursor?.file === id ? journal.cursor : null;
      if (cursor !== null && expected !== null && cursor.hashState === null)
        cursor = { ...cursor, offset: 0 };
      let hasher: SourceHash | null =
        expected === null ? null : await openHash(cursor?.hashState == null ? null : unhex(cursor.hashState));
      let refetched = cursor?.refetched ?? false;
      let start = cursor?.offset ?? 0;
      for (;;) {
        let counted = 0;
        const { reader, close } = openReader(folder, name, start);
        try {
          if (start < dataStart) {
            const h = hasher;
            if (h === null) await reader.skip(dataStart - start);
            else await reader.pieces(dataStart - start, (piece) => h.update(piece));
          }
          for (const e of entries) {
            if (e.offset + e.byteLength <= start) {
              // Written by an interrupted run.
              const fills = tensors.get(e.name) ?? [];
              fills.forEach(restore);
              if (fills.length > 0) {
                done++;
                counted++;
              }
              if (hasher === null) settle(fills);
              continue;
            }
            throwIfAborted(o.signal);
            const fills = tensors.get(e.name);
            if (fills === undefined && hasher === null) {
              await reader.skip(e.byteLength);
              continue;
            }
            // The tensor's float32 form is filled piece by piece as its bytes arrive, and each piece is hashed (the
            // hash copies it; another thread may hash while the fills below run; the state is awaited before the
            // journal), so its source bytes never exist whole. When every fill works row by row, not even its
            // float32 form does: each block of rows goes to the fills as it completes, and what they wrote is
            // stored before the next block overwrites it.
            const sources = fills === undefined ? [] : [...new Set(fills.map((f) => f.source))];
            const writtenBefore = files.written;
            const rowWise =
              rowBlockBytes > 0 &&
              fills !== undefined &&
              sources.length > 0 &&
              fills.every((f) => f.rows !== undefined) &&
              weights.streamsRows(sources);
            let blockMost = 0;
            const rowStream = !rowWise
              ? null
              : weights.receiveRows(sources, rowBlockBytes, async (first, count, rows, data) => {
                  files.tally(data.buffer);
                  for (const fill of fills) fill.rows?.(first, count, rows, data);
                  blockMost = Math.max(blockMost, data.byteLength + files.tally(null));
                  if (first + count < rows) await o.sink.drain();
                });
            const incoming = sources.length === 0 || rowStream !== null ? null : weights.receive(sources);
            const h = hasher;
            await reader.pieces(e.byteLength, (piece) => {
              incoming?.push(piece);
              const hashed = h?.update(piece);
              const pushed = rowStream?.push(piece);
              if (pushed === undefined) return hashed;
              return hashed === undefined ? pushed : Promise.all([hashed, pushed]).then(() => undefined);
            });
            const largest = (): void => {
              if (e.byteLength > heaviest.largest.sourceBytes)
                heaviest = {
                  ...heaviest,
                  largest: {
                    tensor: e.name,
                    sourceBytes: e.byteLength,
                    outputBytes: files.written - writtenBefore,
                  },
                };
            };
            const passed = async (): Promise<void> => {
              journal.cursor = {
                file: id,
                offset: e.offset + e.byteLength,
                hashState: hasher === null ? null : toHex(await hasher.state()),
                refetched,
              };
              await o.sink.commit?.(journal);
            };
            // A tensor no graph uses still passes through the hash: recorded too, so it is not read twice.
            if (fills === undefined || (incoming === null && rowStream === null)) {
              await passed();
              continue;
            }
            if (rowStream !== null) {
              await rowStream.finish();
              heaviest = { ...heaviest, rowBlockBytes: Math.max(heaviest.rowBlockBytes, blockMost) };
            } else if (incoming !== null)
              try {
                const held = incoming.finish();
                files.tally(held);
                let inlineBytes = 0;
                for (const fill of fills) {
                  const inline = fill.run();
                  if (inline !== null) {
                    journal.inline[fill.key] = [...inline];
                    if (inline.buffer !== held) inlineBytes += inline.byteLength;
                  }
                }
                const outputBytes = files.tally(null) + inlineBytes;
                if (incoming.bytes + outputBytes > heaviest.tensorBytes + heaviest.outputBytes)
                  heaviest = { ...heaviest, tensor: e.name, tensorBytes: incoming.bytes, outputBytes };
              } finally {
                for (const canonical of sources) weights.release(canonical);
              }
            largest();
            if (hasher === null) settle(fills);
            await passed();
            done++;
            counted++;
            o.onTensor?.(done, total, e.name);
            if (hasher === null) await closeComplete();
          }
        } finally {
          close();
        }
        if (hasher === null) break;
        const actual = await hasher.digest();
        if (actual === expected) break;
        if (refetched) {
          throw new ConvertError(
            'integrity',
            `${folder.label}/${name} arrived twice with the wrong content (sha256 ${actual}, published ` +
              `${expected}). The server or a proxy alters it; try again later or from another network.`,
            { details: { file: name, expected, actual } },
          );
        }
        // Everything that came from this file is dropped: it is read again and every fill runs again.
        refetched = true;
        start = 0;
        hasher = await openHash(null);
        done -= counted;
        journal.cursor = { file: id, offset: 0, hashState: null, refetched };
        await o.sink.commit?.(journal);
      }
      if (hasher !== null) for (const fills of tensors.values()) settle(fills);
      journal.filesDone.push(id);
      journal.cursor = null;
      await o.sink.commit?.(journal);
      await closeComplete();
    }
  }
  await closeComplete();
  if (!files.allClosed) throw new Error('a data file was left incomplete');
  weights.endPass();
  return heaviest;
}
