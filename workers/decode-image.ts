// Owns turning what the UI hands over (Blob, ImageBitmap, data/blob URL, raw RGBA) into RGBA pixels in the worker.
// It must not resize for the model or normalise (the engine's image-preprocess does that); it only decodes.
import { abortError, throwIfAborted } from '../src/shared/abort';
import { EngineError } from '../src/shared/errors';
import type { ImageInput, RawImage } from '../src/shared/protocol';

/**
 * Photos beyond this edge are scaled down while decoding: the model sees a few hundred pixels a side, and a full
 * 48-megapixel RGBA copy would cost 200 MB for nothing.
 */
export const maxDecodedEdge = 2048;

const badImage = (detail: string, cause?: unknown) =>
  new EngineError('bad-image', `This image could not be read (${detail}). Try a PNG, JPEG or WebP file.`, {
    cause,
  });

function isRawImage(input: ImageInput): input is RawImage {
  return (
    typeof input === 'object' && input !== null && 'data' in input && 'width' in input && 'height' in input
  );
}

function checkRaw(image: RawImage): RawImage {
  const { width, height, data } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw badImage(`its size ${width}×${height} is not valid`);
  }
  if (data.length !== width * height * 4)
    throw badImage(`it has ${data.length} bytes, not ${width}×${height}×4`);
  return image;
}

async function blobOf(url: string, signal: AbortSignal | undefined): Promise<Blob> {
  if (!url.startsWith('data:') && !url.startsWith('blob:'))
    throw badImage('only data: and blob: URLs are accepted');
  try {
    const response = await fetch(url, signal ? { signal } : {});
    return await response.blob();
  } catch (error) {
    throwIfAborted(signal);
    throw badImage('its URL did not load', error);
  }
}

/** Scale that fits the longer edge into {@link maxDecodedEdge}; 1 when it already fits. */
function fitScale(width: number, height: number): number {
  return Math.min(1, maxDecodedEdge / Math.max(width, height));
}

async function bitmapOf(blob: Blob): Promise<ImageBitmap> {
  if (blob.size === 0) throw badImage('the file is empty');
  const options: ImageBitmapOptions = {
    imageOrientation: 'from-image',
    premultiplyAlpha: 'none',
    // PIL, which the models' preprocessing was written for, ignores embedded colour profiles; so do we.
    colorSpaceConversion: 'none',
  };
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(blob, options);
  } catch (error) {
    throw badImage(
      blob.type ? `${blob.type} did not decode` : 'it is not a picture format the browser knows',
      error,
    );
  }
  return fitted(bitmap);
}

/** The bitmap itself when it fits {@link maxDecodedEdge}, else a scaled copy (the original is closed). */
async function fitted(bitmap: ImageBitmap): Promise<ImageBitmap> {
  const scale = fitScale(bitmap.width, bitmap.height);
  if (scale === 1) return bitmap;
  const resizeWidth = Math.max(1, Math.round(bitmap.width * scale));
  const resizeHeight = Math.max(1, Math.round(bitmap.height * scale));
  try {
    return await createImageBitmap(bitmap, { resizeWidth, resizeHeight, resizeQuality: 'high' });
  } finally {
    bitmap.close();
  }
}

function pixelsOf(bitmap: ImageBitmap): RawImage {
  const { width, height } = bitmap;
  if (width === 0 || height === 0) throw badImage('it has no pixels');
  const canvas = new OffscreenCanvas(width, height);
  const context = canvas.getContext('2d', { willReadFrequently: true });
  if (!context) throw badImage('no 2D canvas is available in this browser');
  context.drawImage(bitmap, 0, 0);
  const { data } = context.getImageData(0, 0, width, height);
  return { width, height, data };
}

/**
 * Decodes one image to RGBA (EXIF orientation applied, longer edge at most {@link maxDecodedEdge}).
 * Throws EngineError 'bad-image' when it cannot be read; rejects with AbortError when `signal` fires.
 */
export async function decodeImage(input: ImageInput, signal?: AbortSignal): Promise<RawImage> {
  throwIfAborted(signal);
  if (isRawImage(input)) return checkRaw(input);
  let bitmap: ImageBitmap;
  if (typeof input === 'string') bitmap = await bitmapOf(await blobOf(input, signal));
  else if (input instanceof Blob) bitmap = await bitmapOf(input);
  else if (typeof ImageBitmap !== 'undefined' && input instanceof ImageBitmap) bitmap = await fitted(input);
  else throw badImage('it is neither a file, a bitmap, a data URL nor raw pixels');
  try {
    if (signal?.aborted) throw abortError(signal.reason);
    return pixelsOf(bitmap);
  } finally {
    bitmap.close();
  }
}
