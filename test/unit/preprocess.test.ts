// Image preprocessing: Pillow-exact resampling, the plain processor against transformers.js, LLaVA's pad mode and
// its deliberate difference from transformers.js, SigLIP fixed-size settings, and bad images.
import { AutoProcessor, RawImage as HfRawImage, type Processor } from '@huggingface/transformers';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  expandToSquare,
  meanColour,
  preprocessImage,
  resizeTarget,
  rgbaToRgb,
} from '../../src/engine/image-preprocess';
import { parseModelConfig, type ModelConfig } from '../../src/engine/model-config';
import { resizeLikePil } from '../../src/engine/pil-resize';
import type { RawImage } from '../../src/shared/protocol';
import { getTinyModel } from '../fixtures/tiny-model';
import { offlineModelId } from '../fixtures/transformers-offline';

/** The input both this test and the Pillow script that produced the golden values use. */
const gen = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * i * 7 + i * 31 + 11) % 256);
function fnv1a(bytes: ArrayLike<number>): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ (bytes[i] as number), 0x01000193) >>> 0;
  return h;
}

/** A smooth RGBA test picture (resamplers agree best on smooth content). */
function smooth(w: number, h: number): RawImage {
  const data = new Uint8ClampedArray(w * h * 4).map((_, i) => {
    const px = i >> 2;
    const x = px % w;
    const y = Math.floor(px / w);
    return Math.round(127 + 120 * Math.sin((x / w) * 6 + (i & 3)) * Math.cos((y / h) * 4));
  });
  return { width: w, height: h, data };
}

interface Fixture {
  dir: string;
  cfg: ModelConfig;
  processor: Processor;
}
const fixtures: Record<'clip' | 'siglip', Fixture> = {} as Record<'clip' | 'siglip', Fixture>;

async function hfPixels(f: Fixture, img: RawImage) {
  const imageProcessor = f.processor.image_processor;
  if (!imageProcessor) throw new Error('The LLaVA processor has no image processor.');
  const out = await imageProcessor(new HfRawImage(img.data, img.width, img.height, 4));
  return { data: out.pixel_values.data as Float32Array, dims: out.pixel_values.dims };
}

beforeAll(async () => {
  for (const [key, preset] of [
    ['clip', 'tiny'],
    ['siglip', 'tiny-qwen-siglip'],
  ] as const) {
    const { dir } = getTinyModel(preset);
    const j = (f: string): unknown => JSON.parse(readFileSync(path.join(dir, f), 'utf8'));
    const cfg = parseModelConfig({
      config: j('config.json'),
      preprocessorConfig: j('preprocessor_config.json'),
      processorConfig: j('processor_config.json'),
    });
    fixtures[key] = { dir, cfg, processor: await AutoProcessor.from_pretrained(offlineModelId(dir)) };
  }
});

describe('Pillow-exact resampling (golden values from Pillow 9.4 Image.resize)', () => {
  const resize = (w: number, h: number, ow: number, oh: number, rs: number) =>
    Array.from(resizeLikePil({ width: w, height: h, channels: 3, data: gen(w * h * 3) }, ow, oh, rs).data);

  it('bicubic downscale with antialiasing, 7×5 → 3×4', () => {
    expect(resize(7, 5, 3, 4, 3)).toEqual([
      120, 139, 122, 125, 153, 148, 53, 162, 60, 167, 154, 100, 119, 114, 155, 176, 139, 145, 105, 191, 111,
      156, 110, 131, 169, 77, 145, 81, 174, 147, 166, 58, 125, 130, 127, 97,
    ]);
  });

  it('bilinear downscale, 9×9 → 4×4', () => {
    expect(resize(9, 9, 4, 4, 2)).toEqual([
      114, 117, 150, 140, 173, 140, 101, 162, 92, 167, 115, 111, 94, 132, 138, 121, 115, 135, 132, 107, 122,
      152, 119, 93, 112, 102, 172, 120, 138, 125, 138, 151, 129, 147, 114, 115, 151, 132, 143, 85, 141, 84,
      114, 176, 146, 128, 138, 140,
    ]);
  });

  it('bicubic up, down and mixed scales match byte for byte (hashes)', () => {
    expect(fnv1a(resize(5, 4, 9, 7, 3))).toBe(0xde9aef24);
    expect(fnv1a(resize(64, 24, 85, 32, 3))).toBe(0xef4720dc);
    expect(fnv1a(resize(85, 32, 32, 32, 3))).toBe(0x5785d73c);
    expect(fnv1a(resize(300, 200, 37, 23, 3))).toBe(0xb2b08957);
  });
});

describe('plain mode (the HF processor) against transformers.js', () => {
  it('CLIP settings: exactly equal on an image that needs no resize', async () => {
    const img = { width: 32, height: 32, data: new Uint8ClampedArray(gen(32 * 32 * 4)) };
    const ours = preprocessImage(img, fixtures.clip.cfg.image);
    const theirs = await hfPixels(fixtures.clip, img);
    expect(theirs.dims).toEqual([1, 3, 32, 32]);
    expect(Array.from(ours.data)).toEqual(Array.from(theirs.data));
  });

  it('SigLIP settings (fixed size, mean/std 0.5): exactly equal without resize', async () => {
    expect(fixtures.siglip.cfg.image.size).toEqual({ height: 32, width: 32 });
    expect(fixtures.siglip.cfg.image.imageMean).toEqual([0.5, 0.5, 0.5]);
    const img = { width: 32, height: 32, data: new Uint8ClampedArray(gen(32 * 32 * 4)) };
    const ours = preprocessImage(img, fixtures.siglip.cfg.image);
    expect(Array.from(ours.data)).toEqual(Array.from((await hfPixels(fixtures.siglip, img)).data));
  });

  // transformers.js in Node resizes with sharp's affine bicubic (no antialiasing, other pixel alignment), not
  // Pillow's filter that the Python processor and this engine use, so resized images agree only roughly:
  // stated tolerance on smooth pictures: mean |Δ| < 0.1 in normalised units (about 6/255 of a grey level).
  for (const [w, h] of [
    [64, 24],
    [20, 50],
    [48, 40],
    [400, 300],
  ] as const) {
    for (const key of ['clip', 'siglip'] as const) {
      it(`${key}: resized ${w}×${h} agrees within the stated tolerance`, async () => {
        const img = smooth(w, h);
        const ours = preprocessImage(img, fixtures[key].cfg.image);
        const theirs = await hfPixels(fixtures[key], img);
        expect([1, 3, ours.height, ours.width]).toEqual(theirs.dims);
        let sum = 0;
        for (let i = 0; i < ours.data.length; i++)
          sum += Math.abs((ours.data[i] as number) - (theirs.data[i] as number));
        expect(sum / ours.data.length).toBeLessThan(0.1);
      });
    }
  }

  it('follows Python for the shortest-edge size (int of the long side)', () => {
    expect(resizeTarget(64, 24, { shortestEdge: 32 })).toEqual([85, 32]);
    expect(resizeTarget(20, 50, { shortestEdge: 32 })).toEqual([32, 80]);
    expect(resizeTarget(640, 480, { height: 384, width: 384 })).toEqual([384, 384]);
  });
});

describe('pad mode (LLaVA-1.5 image_aspect_ratio "pad")', () => {
  const padCfg = () => ({ ...fixtures.clip.cfg.image, mode: 'pad' as const });

  it('is chosen by config.json image_aspect_ratio or a LlavaImageProcessor with do_pad', () => {
    const base = {
      text_config: { vocab_size: 8, hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 1 },
      image_token_index: 7,
    };
    expect(parseModelConfig({ config: { ...base, image_aspect_ratio: 'pad' } }).image.mode).toBe('pad');
    expect(
      parseModelConfig({
        config: base,
        preprocessorConfig: { image_processor_type: 'LlavaImageProcessor', do_pad: true },
      }).image.mode,
    ).toBe('pad');
    expect(
      parseModelConfig({ config: base, preprocessorConfig: { image_processor_type: 'CLIPImageProcessor' } })
        .image.mode,
    ).toBe('plain');
  });

  it("fills the square with the processor's mean colour × 255 (truncated, as LLaVA does), image centred", () => {
    const fill = meanColour(fixtures.clip.cfg.image.imageMean);
    expect(fill).toEqual([122, 116, 104]);
    const img = rgbaToRgb({ width: 4, height: 2, data: new Uint8Array(4 * 2 * 4).fill(9) });
    const sq = expandToSquare(img, fill);
    expect([sq.width, sq.height]).toEqual([4, 4]);
    const px = (x: number, y: number) => Array.from(sq.data.subarray((y * 4 + x) * 3, (y * 4 + x) * 3 + 3));
    expect(px(0, 0)).toEqual([122, 116, 104]);
    expect(px(3, 3)).toEqual([122, 116, 104]);
    expect(px(0, 1)).toEqual([9, 9, 9]);
    expect(px(3, 2)).toEqual([9, 9, 9]);
    // Tall images pad left and right, with (side - w) // 2 on the left.
    const tall = expandToSquare(rgbaToRgb({ width: 1, height: 4, data: new Uint8Array(16).fill(200) }), fill);
    expect(Array.from(tall.data.subarray(0, 12))).toEqual([
      122, 116, 104, 200, 200, 200, 122, 116, 104, 122, 116, 104,
    ]);
  });

  it('differs from transformers.js on purpose: pads instead of cropping, equal to HF on the padded picture', async () => {
    const w = 32;
    const h = 20;
    const img = { width: w, height: h, data: new Uint8ClampedArray(gen(w * h * 4)) };
    const ours = preprocessImage(img, padCfg());
    // The Python LLaVA pipeline: expand2square, then the processor. Here the square needs no resize, so HF's
    // processor on the padded picture must give exactly our numbers.
    const sq = expandToSquare(rgbaToRgb(img), meanColour(fixtures.clip.cfg.image.imageMean));
    const sqRgba = new Uint8ClampedArray(32 * 32 * 4);
    for (let i = 0; i < 32 * 32; i++) {
      sqRgba.set(sq.data.subarray(i * 3, i * 3 + 3), i * 4);
      sqRgba[i * 4 + 3] = 255;
    }
    const padded = await hfPixels(fixtures.clip, { width: 32, height: 32, data: sqRgba });
    expect(Array.from(ours.data)).toEqual(Array.from(padded.data));
    // transformers.js's plain processor upsizes and crops the middle instead: the top rows hold image content
    // there, the mean colour (normalised ≈ 0) here.
    const plain = await hfPixels(fixtures.clip, img);
    let diff = 0;
    for (let i = 0; i < ours.data.length; i++)
      diff = Math.max(diff, Math.abs((ours.data[i] as number) - (plain.data[i] as number)));
    expect(diff).toBeGreaterThan(0.5);
    for (let x = 0; x < 32; x++) expect(Math.abs(ours.data[x] as number)).toBeLessThan(0.02);
  });
});

describe('bad images', () => {
  it('rejects empty and truncated images with bad-image', () => {
    const cfg = fixtures.clip.cfg.image;
    expect(() => preprocessImage({ width: 0, height: 10, data: new Uint8Array(0) }, cfg)).toThrowError(
      expect.objectContaining({ code: 'bad-image' }),
    );
    expect(() => preprocessImage({ width: 10, height: 10, data: new Uint8Array(10) }, cfg)).toThrowError(
      expect.objectContaining({ code: 'bad-image' }),
    );
  });
});
