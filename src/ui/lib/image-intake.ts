// Owns checking and preparing a picture the user gives us, before anything reaches the engine: sniffs the bytes and
// reads the size here, then decodes (EXIF orientation applied), downscales and re-encodes on the intake worker.
// It never touches the chat or storage; a rejected file is reported by name and nothing else changes.
import { formatBytes } from './format';

/** Longest side the app keeps; LLaVA towers see 336–384 px, multi-crop models a few tiles of that. */
export const MAX_SIDE = 2048;
/** Files bigger than this are refused before reading them. */
export const MAX_FILE_BYTES = 200 * 1024 * 1024;
/** Chromium refuses to decode past about this many pixels. */
export const MAX_PIXELS = 16384 * 16384;

export interface PreparedImage {
  name: string;
  blob: Blob;
  width: number;
  height: number;
  originalWidth: number;
  originalHeight: number;
  /** Set when the picture was changed in a way the user should know (downscaled). */
  note?: string;
}

/** A file we will not use; `message` names the file and says why. */
export class ImageRejectedError extends Error {
  readonly fileName: string;
  constructor(fileName: string, message: string) {
    super(message);
    this.name = 'ImageRejectedError';
    this.fileName = fileName;
  }
}

type Sniffed = 'png' | 'jpeg' | 'gif' | 'webp' | 'bmp' | 'avif' | 'ico' | 'text' | 'unknown';

function sniff(head: Uint8Array): Sniffed {
  const at = (i: number) => head[i] ?? -1;
  const ascii = (from: number, s: string) => [...s].every((ch, i) => at(from + i) === ch.charCodeAt(0));
  if (at(0) === 0x89 && ascii(1, 'PNG')) return 'png';
  if (at(0) === 0xff && at(1) === 0xd8 && at(2) === 0xff) return 'jpeg';
  if (ascii(0, 'GIF8')) return 'gif';
  if (ascii(0, 'RIFF') && ascii(8, 'WEBP')) return 'webp';
  if (ascii(0, 'BM')) return 'bmp';
  if (ascii(4, 'ftyp') && (ascii(8, 'avif') || ascii(8, 'avis') || ascii(8, 'mif1'))) return 'avif';
  if (at(0) === 0 && at(1) === 0 && at(2) === 1 && at(3) === 0) return 'ico';
  const printable =
    head.length > 0 &&
    head.every((b) => b === 9 || b === 10 || b === 13 || (b >= 32 && b < 127) || b >= 0xc0);
  return printable ? 'text' : 'unknown';
}

/** Width and height as the browser will show them (EXIF orientation applied), read without a full decode. */
function probeSize(url: string): Promise<{ width: number; height: number }> {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => resolve({ width: img.naturalWidth, height: img.naturalHeight });
    img.onerror = () => reject(new Error('undecodable'));
    img.src = url;
  });
}

interface IntakeJob {
  file: Blob;
  maxSide: number;
  resize: 'width' | 'height' | null;
  type: 'image/png' | 'image/jpeg';
}

type IntakeResult =
  | { ok: true; blob: Blob; width: number; height: number }
  | { ok: false; reason: 'undecodable' | 'failed'; message: string };

let worker: Worker | undefined;
let nextJob = 1;
const waiting = new Map<number, (result: IntakeResult) => void>();

/** Decodes, scales and re-encodes on the intake worker's thread (one worker, started on first use). */
function runInWorker(job: IntakeJob): Promise<IntakeResult> {
  if (!worker) {
    worker = new Worker(new URL('../../../workers/image-intake.worker.ts', import.meta.url), {
      type: 'module',
      name: 'image-intake',
    });
    worker.addEventListener('message', (event: MessageEvent<IntakeResult & { id: number }>) => {
      waiting.get(event.data.id)?.(event.data);
      waiting.delete(event.data.id);
    });
    worker.addEventListener('error', (event) => {
      for (const done of waiting.values()) done({ ok: false, reason: 'failed', message: event.message });
      waiting.clear();
      worker = undefined;
    });
  }
  const id = nextJob++;
  const target = worker;
  return new Promise((resolve) => {
    waiting.set(id, resolve);
    target.postMessage({ id, ...job });
  });
}

/**
 * Checks and prepares one picture. Throws ImageRejectedError (message names the file) for empty, oversized,
 * non-image or corrupt files. Big pictures are downscaled to {@link MAX_SIDE} on a worker thread, so the page never
 * freezes; every picture is re-encoded so that EXIF orientation is baked in and metadata (e.g. GPS) is dropped.
 */
export async function prepareImage(file: Blob, name: string): Promise<PreparedImage> {
  if (file.size === 0) throw new ImageRejectedError(name, `“${name}” is empty (0 bytes).`);
  if (file.size > MAX_FILE_BYTES) {
    throw new ImageRejectedError(
      name,
      `“${name}” is ${formatBytes(file.size)}; pictures up to ${formatBytes(MAX_FILE_BYTES)} are accepted.`,
    );
  }
  const kind = sniff(new Uint8Array(await file.slice(0, 32).arrayBuffer()));
  if (kind === 'text') {
    throw new ImageRejectedError(
      name,
      `“${name}” is not a picture: it contains text. Choose a PNG, JPEG, WebP or GIF file.`,
    );
  }
  if (kind === 'unknown') {
    throw new ImageRejectedError(
      name,
      `“${name}” is not a picture format this browser reads (PNG, JPEG, WebP, GIF, BMP, AVIF).`,
    );
  }
  const damaged = `“${name}” could not be decoded: the file looks damaged or incomplete.`;
  const url = URL.createObjectURL(file);
  let size: { width: number; height: number };
  try {
    size = await probeSize(url);
  } catch {
    throw new ImageRejectedError(name, damaged);
  } finally {
    URL.revokeObjectURL(url);
  }
  if (size.width === 0 || size.height === 0) throw new ImageRejectedError(name, damaged);
  if (size.width * size.height > MAX_PIXELS) {
    throw new ImageRejectedError(
      name,
      `“${name}” is ${size.width}×${size.height} pixels, too large for the browser to decode. Resize it below 16000×16000.`,
    );
  }
  const shrink = Math.max(size.width, size.height) > MAX_SIDE;
  // Resize by one side only: the decoder keeps the aspect ratio of the oriented picture itself.
  const result = await runInWorker({
    file,
    maxSide: MAX_SIDE,
    resize: shrink ? (size.width >= size.height ? 'width' : 'height') : null,
    type: kind === 'jpeg' || (shrink && kind !== 'png') ? 'image/jpeg' : 'image/png',
  });
  if (!result.ok) {
    throw new ImageRejectedError(
      name,
      result.reason === 'undecodable' ? damaged : `“${name}” could not be prepared (${result.message}).`,
    );
  }
  const prepared: PreparedImage = {
    name,
    blob: result.blob,
    width: result.width,
    height: result.height,
    originalWidth: size.width,
    originalHeight: size.height,
  };
  if (shrink)
    prepared.note = `“${name}” is ${size.width}×${size.height}; it was downscaled to ${result.width}×${result.height}.`;
  return prepared;
}
