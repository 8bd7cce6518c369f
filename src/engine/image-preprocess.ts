// Owns turning RGBA pixels into the vision encoder's CHW float pixel_values (pad / resize / crop / rescale / normalize).
// Pure over typed arrays: no canvas, no DOM, no ONNX.

import { EngineError } from '../shared/errors';
import type { RawImage } from '../shared/protocol';
import type { ImagePreprocessConfig } from './model-config';
import { resizeLikePil, type U8Image } from './pil-resize';

/** Preprocessed image: `data` is [3, height, width] in channel-first order. */
export interface PixelValues {
  data: Float32Array;
  height: number;
  width: number;
}

/**
 * Checks that a RawImage holds at least one whole RGBA pixel per position.
 * @throws EngineError('bad-image') for empty or truncated images.
 */
export function validateRawImage(image: RawImage): void {
  const { width, height, data } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new EngineError('bad-image', `The image is empty (${width}×${height}). Try another picture.`);
  }
  if (!data || data.length < width * height * 4) {
    throw new EngineError(
      'bad-image',
      'The image data is incomplete. Try saving the picture again or pick another one.',
    );
  }
}

/** Drops alpha like PIL's convert('RGB') (no compositing), which is what the Python processors see. */
export function rgbaToRgb(image: RawImage): U8Image {
  const n = image.width * image.height;
  const out = new Uint8Array(n * 3);
  const src = image.data;
  for (let i = 0; i < n; i++) {
    out[i * 3] = src[i * 4] as number;
    out[i * 3 + 1] = src[i * 4 + 1] as number;
    out[i * 3 + 2] = src[i * 4 + 2] as number;
  }
  return { width: image.width, height: image.height, channels: 3, data: out };
}

/** The pad colour LLaVA uses: `tuple(int(x * 255) for x in image_mean)`. */
export function meanColour(mean: readonly [number, number, number]): [number, number, number] {
  return [Math.trunc(mean[0] * 255), Math.trunc(mean[1] * 255), Math.trunc(mean[2] * 255)];
}

/** LLaVA's expand2square: centre the image on a square canvas of its longer side, filled with `fill`. */
export function expandToSquare(img: U8Image, fill: readonly [number, number, number]): U8Image {
  const side = Math.max(img.width, img.height);
  if (img.width === img.height) return img;
  const out = new Uint8Array(side * side * 3);
  for (let i = 0; i < side * side; i++) {
    out[i * 3] = fill[0];
    out[i * 3 + 1] = fill[1];
    out[i * 3 + 2] = fill[2];
  }
  // PIL pastes at ((side - w) // 2, (side - h) // 2): one of the offsets is 0.
  const ox = Math.floor((side - img.width) / 2);
  const oy = Math.floor((side - img.height) / 2);
  for (let y = 0; y < img.height; y++) {
    const srcRow = y * img.width * 3;
    out.set(img.data.subarray(srcRow, srcRow + img.width * 3), ((y + oy) * side + ox) * 3);
  }
  return { width: side, height: side, channels: 3, data: out };
}

/** Output size of the processor's resize step, following Python transformers (`int()` of the long side). */
export function resizeTarget(
  width: number,
  height: number,
  size: ImagePreprocessConfig['size'],
): [number, number] {
  if ('shortestEdge' in size) {
    const s = size.shortestEdge;
    if (width <= height) return [s, Math.trunc((s * height) / width)];
    return [Math.trunc((s * width) / height), s];
  }
  return [size.width, size.height];
}

/** Centre crop; regions outside the image come out black (zero), as HF's center_crop pads them. */
export function centerCrop(img: U8Image, cropWidth: number, cropHeight: number): U8Image {
  if (img.width === cropWidth && img.height === cropHeight) return img;
  const top = Math.floor((img.height - cropHeight) / 2);
  const left = Math.floor((img.width - cropWidth) / 2);
  const out = new Uint8Array(cropWidth * cropHeight * 3);
  for (let y = 0; y < cropHeight; y++) {
    const sy = y + top;
    if (sy < 0 || sy >= img.height) continue;
    for (let x = 0; x < cropWidth; x++) {
      const sx = x + left;
      if (sx < 0 || sx >= img.width) continue;
      const s = (sy * img.width + sx) * 3;
      const d = (y * cropWidth + x) * 3;
      out[d] = img.data[s] as number;
      out[d + 1] = img.data[s + 1] as number;
      out[d + 2] = img.data[s + 2] as number;
    }
  }
  return { width: cropWidth, height: cropHeight, channels: 3, data: out };
}

/** Rescale and normalise into CHW float32, rounding to float32 after each step as the JS/NumPy processors do. */
export function toPixelValues(img: U8Image, cfg: ImagePreprocessConfig): PixelValues {
  const plane = img.width * img.height;
  const out = new Float32Array(plane * 3);
  const factor = cfg.doRescale ? cfg.rescaleFactor : 1;
  for (let c = 0; c < 3; c++) {
    const mean = cfg.imageMean[c] as number;
    const std = cfg.imageStd[c] as number;
    for (let i = 0; i < plane; i++) {
      let v = Math.fround((img.data[i * 3 + c] as number) * factor);
      if (cfg.doNormalize) v = (v - mean) / std;
      out[c * plane + i] = v;
    }
  }
  return { data: out, height: img.height, width: img.width };
}

/**
 * Preprocesses one image for the vision encoder.
 * Pad mode (LLaVA-1.5) first expands to a square filled with the mean colour, then runs the plain steps;
 * plain mode is the HF processor: resize (shortest edge or fixed size, Pillow-style bicubic), centre crop,
 * rescale, normalise.
 * @throws EngineError('bad-image') for an empty or truncated image.
 */
export function preprocessImage(image: RawImage, cfg: ImagePreprocessConfig): PixelValues {
  validateRawImage(image);
  let img = rgbaToRgb(image);
  if (cfg.mode === 'pad') img = expandToSquare(img, meanColour(cfg.imageMean));
  if (cfg.doResize) {
    const [w, h] = resizeTarget(img.width, img.height, cfg.size);
    img = resizeLikePil(img, w, h, cfg.resample);
  }
  if (cfg.doCenterCrop) img = centerCrop(img, cfg.cropSize.width, cfg.cropSize.height);
  return toPixelValues(img, cfg);
}
