// Owns a conversion's scratch space in the origin-private file system: one file per output data file still being
// filled (written by position, in whatever order the checkpoint's tensors arrive) and one holding the journal that
// says how far they are valid. Synchronous access handles (workers only) give positional writes and a cheap flush
// per tensor. It knows nothing of models.

/** The part of FileSystemSyncAccessHandle used here (the DOM lib does not declare it). */
interface SyncHandle {
  read(buffer: Uint8Array, options: { at: number }): number;
  write(buffer: Uint8Array, options: { at: number }): number;
  truncate(size: number): void;
  getSize(): number;
  flush(): void;
  close(): void;
}

const ROOT = 'llava-conversions';

async function conversionsDir(create: boolean): Promise<FileSystemDirectoryHandle | null> {
  try {
    const root = await navigator.storage.getDirectory();
    return await root.getDirectoryHandle(ROOT, { create });
  } catch {
    return null;
  }
}

const dirName = (name: string): string => encodeURIComponent(name);

async function syncHandle(dir: FileSystemDirectoryHandle, file: string): Promise<SyncHandle> {
  const handle = (await dir.getFileHandle(file, { create: true })) as unknown as {
    createSyncAccessHandle(): Promise<SyncHandle>;
  };
  // A worker just terminated (a closed tab, Cancel) releases its handles a moment later: wait for that, briefly.
  for (let attempt = 0; ; attempt++) {
    try {
      return await handle.createSyncAccessHandle();
    } catch (error) {
      if ((error as { name?: unknown }).name !== 'NoModificationAllowedError' || attempt >= 20) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** The staged files and journal of one conversion (worker only). */
export class ConversionStaging {
  private readonly handles = new Map<string, SyncHandle>();
  /** Handles written since the last journal: only these need a flush (each flush is a disk sync). */
  private readonly dirty = new Set<SyncHandle>();

  private constructor(
    private readonly dir: FileSystemDirectoryHandle,
    private readonly journal: SyncHandle,
  ) {}

  /**
   * Opens (creating) the staging of conversion `name`. Rejects with NoModificationAllowedError while another worker
   * (another tab) holds it.
   */
  static async open(name: string): Promise<ConversionStaging> {
    const root = await conversionsDir(true);
    if (root === null) throw new Error('This browser has no origin-private file system for conversions.');
    const dir = await root.getDirectoryHandle(dirName(name), { create: true });
    return new ConversionStaging(dir, await syncHandle(dir, 'journal.json'));
  }

  /** Removes conversion `name`'s staging (after it finished, or when a person discards it). */
  static async remove(name: string): Promise<void> {
    const root = await conversionsDir(false);
    await root?.removeEntry(dirName(name), { recursive: true }).catch(() => undefined);
  }

  /** True when conversion `name` left a journal (an interrupted conversion that can resume). */
  static async exists(name: string): Promise<boolean> {
    const root = await conversionsDir(false);
    if (root === null) return false;
    try {
      const dir = await root.getDirectoryHandle(dirName(name));
      const file = await (await dir.getFileHandle('journal.json')).getFile();
      return file.size > 0;
    } catch {
      return false;
    }
  }

  /** The staged file for `relPath` (created empty when new; an interrupted run's bytes are kept). */
  async file(relPath: string): Promise<StagedBytes> {
    let h = this.handles.get(relPath);
    if (h === undefined) {
      h = await syncHandle(this.dir, `data-${encodeURIComponent(relPath)}`);
      this.handles.set(relPath, h);
    }
    return new StagedBytes(h, this.dirty);
  }

  /** Deletes every staged file but the journal (a conversion that starts over). */
  async clear(): Promise<void> {
    for (const h of this.handles.values()) h.close();
    this.handles.clear();
    this.dirty.clear();
    const names: string[] = [];
    for await (const key of (this.dir as unknown as { keys(): AsyncIterable<string> }).keys())
      if (key !== 'journal.json') names.push(key);
    for (const n of names) await this.dir.removeEntry(n).catch(() => undefined);
  }

  /** Deletes `relPath`'s staged file (once it is in the weight store). */
  async remove(relPath: string): Promise<void> {
    const h = this.handles.get(relPath);
    h?.close();
    if (h !== undefined) this.dirty.delete(h);
    this.handles.delete(relPath);
    await this.dir.removeEntry(`data-${encodeURIComponent(relPath)}`).catch(() => undefined);
  }

  /** The last journal written, or null (none, or unreadable: an interruption while it was written). */
  readJournal(): unknown {
    const size = this.journal.getSize();
    if (size === 0) return null;
    const buf = new Uint8Array(size);
    this.journal.read(buf, { at: 0 });
    try {
      return JSON.parse(new TextDecoder().decode(buf)) as unknown;
    } catch {
      return null;
    }
  }

  /** Makes the staged bytes durable, then the journal that describes them. */
  writeJournal(value: unknown): void {
    for (const h of this.dirty) h.flush();
    this.dirty.clear();
    const buf = new TextEncoder().encode(JSON.stringify(value));
    this.journal.truncate(0);
    this.journal.write(buf, { at: 0 });
    this.journal.flush();
  }

  close(): void {
    for (const h of this.handles.values()) h.close();
    this.handles.clear();
    this.dirty.clear();
    this.journal.close();
  }
}

/** One staged file: positional reads and writes. */
export class StagedBytes {
  constructor(
    private readonly h: SyncHandle,
    private readonly dirty: Set<SyncHandle>,
  ) {}

  get size(): number {
    return this.h.getSize();
  }

  write(bytes: Uint8Array, at: number): void {
    this.dirty.add(this.h);
    for (let done = 0; done < bytes.byteLength;)
      done += this.h.write(bytes.subarray(done), { at: at + done });
  }

  read(length: number, at: number): Uint8Array {
    const out = new Uint8Array(length);
    for (let done = 0; done < length;) {
      const n = this.h.read(out.subarray(done), { at: at + done });
      if (n <= 0) throw new Error(`a staged file ends at ${at + done}, ${length - done} bytes short`);
      done += n;
    }
    return out;
  }

  truncate(size: number): void {
    this.dirty.add(this.h);
    this.h.truncate(size);
  }
}
