// Owns image resampling that reproduces Pillow's Image.resize on 8-bit RGB (separable filters, antialiasing on
// downscale, fixed-point coefficients, uint8 rounding between the horizontal and vertical pass). Pure; no I/O.

/** An 8-bit image with `channels` interleaved channels per pixel. */
export interface U8Image {
  width: number;
  height: number;
  channels: number;
  data: Uint8Array | Uint8ClampedArray;
}

/** Pillow's resample codes (PIL.Image.Resampling). */
export const Resample = { nearest: 0, lanczos: 1, bilinear: 2, bicubic: 3, box: 4, hamming: 5 } as const;

interface Filter {
  support: number;
  kernel: (x: number) => number;
}

function sinc(x: number): number {
  if (x === 0) return 1;
  const px = Math.PI * x;
  return Math.sin(px) / px;
}

const FILTERS: Record<number, Filter> = {
  1: { support: 3, kernel: (x) => (x > -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0) },
  2: { support: 1, kernel: (x) => ((x < 0 ? -x : x) < 1 ? 1 - Math.abs(x) : 0) },
  3: {
    support: 2,
    kernel: (x) => {
      // Keys cubic with a = -0.5, as Pillow uses.
      const a = -0.5;
      const t = Math.abs(x);
      if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
      if (t < 2) return (((t - 5) * t + 8) * t - 4) * a;
      return 0;
    },
  },
  4: { support: 0.5, kernel: (x) => (x > -0.5 && x <= 0.5 ? 1 : 0) },
  5: {
    support: 1,
    kernel: (x) => {
      const t = Math.abs(x);
      if (t >= 1) return 0;
      if (t === 0) return 1;
      return (Math.sin(Math.PI * t) / (Math.PI * t)) * (0.54 + 0.46 * Math.cos(Math.PI * t));
    },
  },
};

const PRECISION_BITS = 32 - 8 - 2;

interface Coeffs {
  ksize: number;
  bounds: Int32Array; // [min, count] per output pixel
  weights: Int32Array; // fixed-point, ksize per output pixel
}

function precompute(inSize: number, outSize: number, filter: Filter): Coeffs {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filter.support * filterScale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const weights = new Int32Array(outSize * ksize);
  const k = new Float64Array(ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const ss = 1 / filterScale;
    // C casts truncate toward zero; clamping to 0 makes that equal to Math.trunc here.
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const w = filter.kernel((x + xmin - center + 0.5) * ss);
      k[x] = w;
      ww += w;
    }
    for (let x = 0; x < ksize; x++) {
      const w = x < xmax ? (ww !== 0 ? (k[x] as number) / ww : (k[x] as number)) : 0;
      weights[xx * ksize + x] = Math.trunc(
        w < 0 ? -0.5 + w * (1 << PRECISION_BITS) : 0.5 + w * (1 << PRECISION_BITS),
      );
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { ksize, bounds, weights };
}

function clip8(v: number): number {
  // Two's-complement shift like Pillow's `in >> PRECISION_BITS`; the sums fit in 32 bits by construction.
  const s = v >> PRECISION_BITS;
  return s < 0 ? 0 : s > 255 ? 255 : s;
}

function horizontal(src: U8Image, outWidth: number, c: Coeffs): U8Image {
  const { height, channels } = src;
  const out = new Uint8Array(outWidth * height * channels);
  const rowIn = src.width * channels;
  for (let y = 0; y < height; y++) {
    for (let xx = 0; xx < outWidth; xx++) {
      const xmin = c.bounds[xx * 2] as number;
      const xmax = c.bounds[xx * 2 + 1] as number;
      const kOff = xx * c.ksize;
      for (let ch = 0; ch < channels; ch++) {
        let ss = 1 << (PRECISION_BITS - 1);
        for (let x = 0; x < xmax; x++) {
          ss +=
            (src.data[y * rowIn + (x + xmin) * channels + ch] as number) * (c.weights[kOff + x] as number);
        }
        out[(y * outWidth + xx) * channels + ch] = clip8(ss);
      }
    }
  }
  return { width: outWidth, height, channels, data: out };
}

function vertical(src: U8Image, outHeight: number, c: Coeffs): U8Image {
  const { width, channels } = src;
  const out = new Uint8Array(width * outHeight * channels);
  const row = width * channels;
  for (let yy = 0; yy < outHeight; yy++) {
    const ymin = c.bounds[yy * 2] as number;
    const ymax = c.bounds[yy * 2 + 1] as number;
    const kOff = yy * c.ksize;
    for (let i = 0; i < row; i++) {
      let ss = 1 << (PRECISION_BITS - 1);
      for (let y = 0; y < ymax; y++)
        ss += (src.data[(y + ymin) * row + i] as number) * (c.weights[kOff + y] as number);
      out[yy * row + i] = clip8(ss);
    }
  }
  return { width, height: outHeight, channels, data: out };
}

function nearest(src: U8Image, outWidth: number, outHeight: number): U8Image {
  const { channels } = src;
  const out = new Uint8Array(outWidth * outHeight * channels);
  const sx = src.width / outWidth;
  const sy = src.height / outHeight;
  for (let y = 0; y < outHeight; y++) {
    const yi = Math.min(Math.floor((y + 0.5) * sy), src.height - 1);
    for (let x = 0; x < outWidth; x++) {
      const xi = Math.min(Math.floor((x + 0.5) * sx), src.width - 1);
      for (let ch = 0; ch < channels; ch++) {
        out[(y * outWidth + x) * channels + ch] = src.data[(yi * src.width + xi) * channels + ch] as number;
      }
    }
  }
  return { width: outWidth, height: outHeight, channels, data: out };
}

/**
 * Resizes like `PIL.Image.resize((outWidth, outHeight), resample)`: horizontal pass first, each pass rounded to uint8.
 * Unknown resample codes fall back to bicubic.
 */
export function resizeLikePil(src: U8Image, outWidth: number, outHeight: number, resample: number): U8Image {
  if (outWidth === src.width && outHeight === src.height) return src;
  if (resample === Resample.nearest) return nearest(src, outWidth, outHeight);
  const filter = FILTERS[resample] ?? (FILTERS[Resample.bicubic] as Filter);
  let img = src;
  if (outWidth !== src.width) img = horizontal(img, outWidth, precompute(src.width, outWidth, filter));
  if (outHeight !== src.height) img = vertical(img, outHeight, precompute(src.height, outHeight, filter));
  return img;
}
