// Owns remembering image features by a content hash of the image, so a picture already seen (in this conversation or
// another one) is neither preprocessed nor encoded again. It must not run the encoder or hold KV state.

import { xxhash128 } from 'hash-wasm';
import type { RawImage } from '../shared/protocol';
import type { PixelValues } from './image-preprocess';
import { Lru } from './lru';
import type { ImageFeatures } from './vision';

function bytesOf(data: ArrayBufferView): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** A content key for decoded RGBA pixels: 128-bit xxHash of the bytes plus the size. */
export async function imageKey(image: RawImage): Promise<string> {
  const n = image.width * image.height * 4;
  return `rgba:${image.width}x${image.height}:${await xxhash128(bytesOf(image.data.subarray(0, n)))}`;
}

/** A content key for already preprocessed pixels (callers that skip the engine's own preprocessing). */
export async function pixelKey(pixels: PixelValues): Promise<string> {
  return `pixels:${pixels.width}x${pixels.height}:${await xxhash128(bytesOf(pixels.data))}`;
}

function featureBytes(f: ImageFeatures): number {
  return f.data.byteLength;
}

/** Least-recently-used features by content key, bounded by a count and by bytes. */
export class FeatureCache {
  // No count limit of its own: `set` pushes out the oldest, keeping the newest, by either bound.
  private readonly entries = new Lru<string, ImageFeatures>(Number.POSITIVE_INFINITY, (_, old) => {
    this.bytes -= featureBytes(old);
  });
  private bytes = 0;

  constructor(
    private readonly capacity = 16,
    private readonly maxBytes = 256 * 1024 * 1024,
  ) {}

  get(key: string): ImageFeatures | undefined {
    return this.entries.get(key);
  }

  set(key: string, features: ImageFeatures): void {
    // Deleted first, so that storing the same features again does not count their bytes twice.
    this.entries.delete(key);
    this.entries.set(key, features);
    this.bytes += featureBytes(features);
    // The newest entry stays even when it alone is over the byte bound: the turn in progress needs it.
    while (this.entries.size > 1 && (this.entries.size > this.capacity || this.bytes > this.maxBytes)) {
      this.entries.evictOldest();
    }
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }

  /** Bytes of feature data held. */
  get totalBytes(): number {
    return this.bytes;
  }
}
