// Owns the converter's view of its input: a folder of named files (a checkpoint on disk, a hub repo read over HTTP)
// whose small files are read whole and whose safetensors files are read by byte range. Interfaces only, runtime-
// agnostic: Node's implementation is node-source.ts, the browser's reads the hub with HTTP Range requests.

/** One file read by byte range (headers) or front to back (tensors, in file order). */
export interface ByteSource {
  /** The file's name in messages (a path, or a repo and file). */
  readonly name: string;
  readonly size: number;
  /**
   * Exactly `length` bytes from `offset`, in a fresh array (byteOffset 0, so typed views of it are aligned).
   * @throws ConvertError 'truncated' when the file ends first.
   */
  read(offset: number, length: number): Uint8Array;
  /**
   * Reads the file front to back from `offset` (one stream: the converter's data pass). Absent: range reads in order.
   */
  stream?(offset: number): SequentialReader;
  close(): void;
}

/** A checkpoint folder (flat: the files a hub repo or a download folder holds at its top level). */
export interface SourceFolder {
  /** The folder in messages (a path, or a hub repo id). */
  readonly label: string;
  /** File names, sorted. */
  list(): string[];
  has(name: string): boolean;
  /** A whole small file (JSON, tokenizer). @throws ConvertError 'missing-file' */
  readBytes(name: string): Uint8Array;
  /** A large file for range reads. @throws ConvertError 'missing-file' */
  open(name: string): ByteSource;
  /** The file's published sha256 (lower-case hex; the hub's LFS oid), checked as its bytes pass; null: unknown. */
  sha256?(name: string): string | null;
}

/** `label/name` for messages. */
export function fileLabel(folder: SourceFolder, name: string): string {
  return `${folder.label.replace(/\/+$/, '')}/${name}`;
}

/** A small file as text (UTF-8). */
export function readText(folder: SourceFolder, name: string): string {
  return new TextDecoder().decode(folder.readBytes(name));
}

/** Reads a file front to back from where it starts. */
export interface SequentialReader {
  /**
   * Hands the next `length` bytes to `each`, in order, in pieces as they arrive (a network chunk, or at most
   * {@link RANGE_PIECE_BYTES} per range read), so a tensor is never assembled whole. A piece is a view that is valid
   * only until `each` returns (or its promise settles): copy what you keep. Pieces split elements anywhere.
   * @throws ConvertError 'truncated'
   */
  pieces(length: number, each: (piece: Uint8Array) => void | Promise<void>): Promise<void>;
  /** Passes over `length` bytes nobody needs (a reader on a local file seeks; one on a stream reads them). */
  skip(length: number): Promise<void>;
  close(): void;
}

/** The largest piece a range reader hands out: bounds what one tensor read holds besides the tensor itself. */
export const RANGE_PIECE_BYTES = 4 << 20;

/** A sequential reader over a ByteSource's range reads (the default: one read per piece, at most RANGE_PIECE_BYTES). */
export function rangeReader(source: ByteSource, from: number): SequentialReader {
  let at = from;
  return {
    pieces: async (length, each) => {
      for (let left = length; left > 0;) {
        const n = Math.min(left, RANGE_PIECE_BYTES);
        const piece = source.read(at, n);
        at += n;
        left -= n;
        await each(piece);
      }
    },
    skip: (length) => {
      at += length;
      return Promise.resolve();
    },
    close: () => undefined,
  };
}
