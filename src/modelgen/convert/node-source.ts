// Owns Node's SourceFolder: a checkpoint folder on disk, small files read whole, safetensors files read by byte
// range with fs.readSync. Node-only; the conversion itself lives in convert-core.ts.
import {
  closeSync,
  existsSync,
  fstatSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  statSync,
} from 'node:fs';
import path from 'node:path';
import type { ByteSource, SourceFolder } from './byte-source';
import { Checkpoint } from './checkpoint';
import { ConvertError } from './errors';
import { SafetensorsFile } from './safetensors-reader';

/** A file on disk read by range (one read call is capped near 2 GiB, so large ranges loop). */
export function nodeByteSource(file: string): ByteSource {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (cause) {
    throw new ConvertError('missing-file', `Cannot open ${file}: it is missing or unreadable.`, { cause });
  }
  let open = true;
  return {
    name: file,
    size: fstatSync(fd).size,
    read(offset, length) {
      if (!open) throw new Error(`${file} is closed`);
      const out = new Uint8Array(length);
      for (let done = 0; done < length;) {
        const n = readSync(fd, out, done, Math.min(length - done, 1 << 30), offset + done);
        if (n === 0) {
          throw new ConvertError('truncated', `${file} ended early while reading; download the file again.`, {
            details: { file },
          });
        }
        done += n;
      }
      return out;
    },
    close() {
      if (open) closeSync(fd);
      open = false;
    },
  };
}

/**
 * A folder on disk.
 * @throws ConvertError('missing-file') when `dir` is not a folder.
 */
export function nodeSourceFolder(dir: string, what = 'checkpoint folder'): SourceFolder {
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new ConvertError('missing-file', `${dir} is not a folder. Pass the ${what}.`);
  return {
    label: dir,
    list: () => readdirSync(dir).sort(),
    has: (name) => existsSync(path.join(dir, name)),
    readBytes(name) {
      try {
        return readFileSync(path.join(dir, name));
      } catch (cause) {
        throw new ConvertError('missing-file', `Cannot read ${path.join(dir, name)}.`, { cause });
      }
    },
    open: (name) => nodeByteSource(path.join(dir, name)),
  };
}

/** Opens one safetensors file on disk (header checked). */
export function openSafetensors(file: string): SafetensorsFile {
  return SafetensorsFile.open(nodeByteSource(file));
}

/** Opens the checkpoint in a folder on disk. */
export function openCheckpoint(dir: string): Checkpoint {
  return Checkpoint.open(nodeSourceFolder(dir, 'checkpoint folder with --input'));
}
