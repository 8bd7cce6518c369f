// Owns the converter's output folder (Node's FileSink): everything is written into `<out>.partial` (with a marker),
// each file hashed once complete, and only `finish()` writes manifest.json and renames the folder into place, so a
// folder named `<out>` is always complete. Node-only; it knows nothing of models.
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fstatSync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { ConvertError } from './errors';
import { manifestBytes, sortedEntries, type FileSink, type ManifestEntry, type SinkFile } from './file-sink';

export type { ManifestEntry } from './file-sink';

/** Present only in a folder still being written; lets a later run remove an abandoned `.partial` safely. */
export const PARTIAL_MARKER = '.llava-convert-partial';

const READ_BACK_BYTES = 16 << 20;

/** A data file written by position; hashed by reading it back once complete. */
export class PositionalFile implements SinkFile {
  constructor(
    readonly relPath: string,
    private fd: number,
    private readonly onClose: (entry: ManifestEntry) => void,
  ) {}

  writeAt(bytes: Uint8Array, at: number): void {
    if (this.fd < 0) throw new Error(`${this.relPath} is closed`);
    for (let done = 0; done < bytes.byteLength;) {
      done += writeSync(this.fd, bytes, done, Math.min(bytes.byteLength - done, 1 << 30), at + done);
    }
  }

  close(size: number): ManifestEntry {
    if (this.fd < 0) throw new Error(`${this.relPath} is already closed`);
    if (fstatSync(this.fd).size !== size)
      throw new Error(`${this.relPath} is ${fstatSync(this.fd).size} bytes, not ${size}: a write was lost`);
    const hash = createHash('sha256');
    const buf = new Uint8Array(Math.min(size, READ_BACK_BYTES));
    for (let at = 0; at < size;) {
      const n = readSync(this.fd, buf, 0, Math.min(buf.byteLength, size - at), at);
      hash.update(buf.subarray(0, n));
      at += n;
    }
    closeSync(this.fd);
    this.fd = -1;
    const entry = { path: this.relPath, size, sha256: hash.digest('hex') };
    this.onClose(entry);
    return entry;
  }
}

/** The folder under construction. Call `finish` on success, `abandon` on failure. */
export class OutputFolder implements FileSink {
  readonly partialDir: string;
  /** A closed data file is hashed by reading it back through one buffer of at most this size. */
  readonly bufferBytes = READ_BACK_BYTES;
  private readonly entries: ManifestEntry[] = [];

  private constructor(
    readonly outDir: string,
    private readonly force: boolean,
  ) {
    this.partialDir = `${outDir}.partial`;
  }

  /**
   * Starts `<out>.partial` (removing an abandoned one of ours).
   * @throws ConvertError('output-exists') when `<out>` exists and `force` is off, or `<out>.partial` is not ours.
   */
  static create(outDir: string, force = false): OutputFolder {
    const folder = new OutputFolder(path.resolve(outDir), force);
    if (existsSync(folder.outDir) && !force) {
      throw new ConvertError(
        'output-exists',
        `${folder.outDir} already exists. Choose another --output, or pass --force to replace it.`,
      );
    }
    if (existsSync(folder.partialDir)) {
      if (!existsSync(path.join(folder.partialDir, PARTIAL_MARKER))) {
        throw new ConvertError(
          'output-exists',
          `${folder.partialDir} exists and was not left by the converter. Move it away and run again.`,
        );
      }
      rmSync(folder.partialDir, { recursive: true, force: true });
    }
    mkdirSync(folder.partialDir, { recursive: true });
    writeFileSync(path.join(folder.partialDir, PARTIAL_MARKER), '');
    return folder;
  }

  /** Opens `relPath` (e.g. 'onnx/x_data') for writing by position. */
  open(relPath: string): PositionalFile {
    const target = path.join(this.partialDir, relPath);
    mkdirSync(path.dirname(target), { recursive: true });
    return new PositionalFile(relPath, openSync(target, 'w+'), (e) => this.entries.push(e));
  }

  /** Writes a whole small file. */
  writeFile(relPath: string, bytes: Uint8Array): ManifestEntry {
    const f = this.open(relPath);
    f.writeAt(bytes, 0);
    return f.close(bytes.byteLength);
  }

  /** Files written so far. */
  get files(): readonly ManifestEntry[] {
    return this.entries;
  }

  get location(): string {
    return this.outDir;
  }

  /** Writes are synchronous: nothing is ever queued. */
  drain(): Promise<void> {
    return Promise.resolve();
  }

  /**
   * Writes manifest.json (`fields` plus the sorted file list) last and moves the folder to `<out>` (replacing an
   * existing one only with `force`). Returns the manifest object.
   */
  finish<T extends Record<string, unknown>>(fields: T): Promise<T & { files: ManifestEntry[] }> {
    return Promise.resolve(this.finishNow(fields));
  }

  private finishNow<T extends Record<string, unknown>>(fields: T): T & { files: ManifestEntry[] } {
    const manifest = { ...fields, files: sortedEntries(this.entries) };
    rmSync(path.join(this.partialDir, PARTIAL_MARKER), { force: true });
    writeFileSync(path.join(this.partialDir, 'manifest.json'), manifestBytes(manifest));
    if (existsSync(this.outDir)) {
      if (!this.force)
        throw new ConvertError(
          'output-exists',
          `${this.outDir} appeared while converting; nothing replaced.`,
        );
      const old = `${this.outDir}.old-${process.pid}`;
      renameSync(this.outDir, old);
      renameSync(this.partialDir, this.outDir);
      rmSync(old, { recursive: true, force: true });
    } else {
      renameSync(this.partialDir, this.outDir);
    }
    return manifest;
  }

  /** Removes the partial folder (after an error or abort); never touches `<out>`. */
  abandon(): Promise<void> {
    rmSync(this.partialDir, { recursive: true, force: true });
    return Promise.resolve();
  }
}
