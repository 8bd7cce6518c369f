// Owns checking and preparing a picture the user gives us, before anything reaches the engine:
// sniffs the bytes, decodes with createImageBitmap (EXIF orientation applied), downscales big ones off the main thread.
// It never touches the chat or storage; a rejected file is reported by name and nothing else changes.

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
  const printable = head.length > 0 && head.every((b) => b === 9 || b === 10 || b === 13 || (b >= 32 && b < 127) || b >= 0xc0);
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

async function encode(bitmap: ImageBitmap, type: 'image/png' | 'image/jpeg'): Promise<Blob> {
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('no 2d context');
  ctx.drawImage(bitmap, 0, 0);
  return canvas.convertToBlob(type === 'image/jpeg' ? { type, quality: 0.92 } : { type });
}

/**
 * Checks and prepares one picture. Throws ImageRejectedError (message names the file) for empty, oversized,
 * non-image or corrupt files. Big pictures are downscaled to {@link MAX_SIDE} by createImageBitmap, which decodes
 * and resizes off the main thread; the result is re-encoded so that EXIF orientation is baked in and metadata
 * (e.g. GPS) is dropped.
 */
export async function prepareImage(file: Blob, name: string): Promise<PreparedImage> {
  if (file.size === 0) throw new ImageRejectedError(name, `“${name}” is empty (0 bytes).`);
  if (file.size > MAX_FILE_BYTES) {
    throw new ImageRejectedError(
      name,
      `“${name}” is ${Math.round(file.size / 1048576)} MB; pictures up to ${MAX_FILE_BYTES / 1048576} MB are accepted.`,
    );
  }
  const kind = sniff(new Uint8Array(await file.slice(0, 32).arrayBuffer()));
  if (kind === 'text') {
    throw new ImageRejectedError(name, `“${name}” is not a picture: it contains text. Choose a PNG, JPEG, WebP or GIF file.`);
  }
  if (kind === 'unknown') {
    throw new ImageRejectedError(name, `“${name}” is not a picture format this browser reads (PNG, JPEG, WebP, GIF, BMP, AVIF).`);
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
  const longest = Math.max(size.width, size.height);
  const shrink = longest > MAX_SIDE;
  let bitmap: ImageBitmap;
  try {
    // Resize by one side only: the browser keeps the aspect ratio of the oriented picture itself.
    bitmap = await createImageBitmap(
      file,
      shrink
        ? size.width >= size.height
          ? { imageOrientation: 'from-image', resizeWidth: MAX_SIDE, resizeQuality: 'high' }
          : { imageOrientation: 'from-image', resizeHeight: MAX_SIDE, resizeQuality: 'high' }
        : { imageOrientation: 'from-image' },
    );
  } catch {
    throw new ImageRejectedError(name, damaged);
  }
  try {
    if (Math.max(bitmap.width, bitmap.height) > MAX_SIDE) {
      // The probe and the decoder disagreed about orientation: one more, small step.
      const scale = MAX_SIDE / Math.max(bitmap.width, bitmap.height);
      const smaller = await createImageBitmap(bitmap, {
        resizeWidth: Math.max(1, Math.round(bitmap.width * scale)),
        resizeHeight: Math.max(1, Math.round(bitmap.height * scale)),
        resizeQuality: 'high',
      });
      bitmap.close();
      bitmap = smaller;
    }
    const blob = await encode(bitmap, kind === 'jpeg' || (shrink && kind !== 'png') ? 'image/jpeg' : 'image/png');
    const prepared: PreparedImage = {
      name,
      blob,
      width: bitmap.width,
      height: bitmap.height,
      originalWidth: size.width,
      originalHeight: size.height,
    };
    if (shrink) {
      prepared.note = `“${name}” is ${size.width}×${size.height}; it was downscaled to ${bitmap.width}×${bitmap.height}.`;
    }
    return prepared;
  } finally {
    bitmap.close();
  }
}
