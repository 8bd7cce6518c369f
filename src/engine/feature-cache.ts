// Owns remembering image features by the identity of the preprocessed pixels, so an image already seen in a
// conversation is not encoded again. It must not run the encoder or hold KV state.

import type { PixelValues } from './image-preprocess';
import type { ImageFeatures } from './vision';

/** A stable key for preprocessed pixels: FNV-1a over their float bits plus the size. */
export function pixelKey(pixels: PixelValues): string {
  const words = new Uint32Array(pixels.data.buffer, pixels.data.byteOffset, pixels.data.length);
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193 ^ words.length;
  for (let i = 0; i < words.length; i++) {
    const w = words[i] as number;
    h1 = Math.imul(h1 ^ w, 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ ((w >>> 16) | (w << 16)), 0x5bd1e995) >>> 0;
  }
  return `${pixels.width}x${pixels.height}:${h1.toString(16)}${h2.toString(16)}`;
}

/** Least-recently-used features by pixel key. */
export class FeatureCache {
  private readonly entries = new Map<string, ImageFeatures>();

  constructor(private readonly capacity = 16) {}

  get(key: string): ImageFeatures | undefined {
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key);
      this.entries.set(key, hit);
    }
    return hit;
  }

  set(key: string, features: ImageFeatures): void {
    this.entries.delete(key);
    this.entries.set(key, features);
    while (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
