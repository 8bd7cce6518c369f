// Test-only: the real engine (onnxruntime-node, CPU) over a model folder, able to decode PNG pictures handed over as
// Blobs or data: URLs (as a page's worker would), with every token sent as its own event. No assertions here.

import { toRgba, type RgbImage } from '../../../src/training/data/render';
import { decodePng, encodePng } from '../../../src/training/data/png';
import { EngineError } from '../../../src/shared/errors';
import type { EngineApi, ImageInput, RawImage } from '../../../src/shared/protocol';
import { loadedEngine } from '../engine-helpers';

async function pngBytes(input: ImageInput): Promise<Uint8Array> {
  if (input instanceof Blob) return new Uint8Array(await input.arrayBuffer());
  if (typeof input === 'string' && input.startsWith('data:'))
    return new Uint8Array(await (await fetch(input)).arrayBuffer());
  throw new EngineError('bad-image', 'This test engine decodes PNG Blobs and data: URLs only.');
}

/** Decodes PNG pictures in Node the way the worker decodes any picture: to RGBA pixels. */
export async function decodePngInput(input: ImageInput): Promise<RawImage> {
  let image: RgbImage;
  try {
    image = decodePng(await pngBytes(input));
  } catch (cause) {
    throw new EngineError('bad-image', 'The picture is not a PNG this test engine can read.', { cause });
  }
  return { width: image.width, height: image.height, data: toRgba(image) };
}

/** A loaded engine over `dir` that decodes PNG Blobs and data: URLs. */
export function pngEngine(dir: string): Promise<EngineApi> {
  return loadedEngine(dir, { decodeImage: decodePngInput, tokenEventIntervalMs: 0 });
}

/** The picture as PNG bytes (in an ArrayBuffer of their own, as Blob parts must be). */
export function pngOf(image: RgbImage): Uint8Array<ArrayBuffer> {
  return new Uint8Array(encodePng(image));
}

export function dataUrlOf(png: Uint8Array): string {
  return `data:image/png;base64,${Buffer.from(png).toString('base64')}`;
}
