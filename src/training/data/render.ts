// Owns rasterising a symbolic scene into RGB pixels (anti-aliased by supersampling). Pure: no I/O.

import { Rng } from './rng';
import type { Scene, SceneObject } from './scene';

/** An 8-bit RGB image in row-major HWC order. */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

const SUPERSAMPLE = 4;

function inside(o: SceneObject, x: number, y: number): boolean {
  const dx = x - o.cx;
  const dy = y - o.cy;
  switch (o.shape) {
    case 'circle':
      return dx * dx + dy * dy <= o.r * o.r;
    case 'square': {
      // Slightly smaller than the bounding box so a square and a circle cover similar areas.
      const h = o.r * 0.82;
      return Math.abs(dx) <= h && Math.abs(dy) <= h;
    }
    case 'triangle': {
      const top = o.cy - o.r;
      const bottom = o.cy + o.r * 0.85;
      if (y < top || y > bottom) return false;
      const halfWidth = (o.r * 1.05 * (y - top)) / (bottom - top);
      return Math.abs(dx) <= halfWidth;
    }
  }
}

/** Draws the scene: a noisy grey background with each object blended by its sub-pixel coverage. */
export function renderScene(scene: Scene): RgbImage {
  const n = scene.size;
  const data = new Uint8Array(n * n * 3);
  const noise = new Rng(scene.noiseSeed);
  const step = 1 / SUPERSAMPLE;
  for (let py = 0; py < n; py++) {
    for (let px = 0; px < n; px++) {
      const g = scene.background + (noise.next() * 2 - 1) * scene.noise;
      let r = g;
      let gg = g;
      let b = g;
      for (const o of scene.objects) {
        if (px + 1 < o.cx - o.r - 1 || px > o.cx + o.r + 1 || py + 1 < o.cy - o.r - 1 || py > o.cy + o.r + 1)
          continue;
        let hits = 0;
        for (let sy = 0; sy < SUPERSAMPLE; sy++) {
          for (let sx = 0; sx < SUPERSAMPLE; sx++) {
            if (inside(o, px + (sx + 0.5) * step, py + (sy + 0.5) * step)) hits++;
          }
        }
        const a = hits / (SUPERSAMPLE * SUPERSAMPLE);
        r = r * (1 - a) + o.rgb[0] * a;
        gg = gg * (1 - a) + o.rgb[1] * a;
        b = b * (1 - a) + o.rgb[2] * a;
      }
      const i = (py * n + px) * 3;
      data[i] = Math.max(0, Math.min(255, Math.round(r)));
      data[i + 1] = Math.max(0, Math.min(255, Math.round(gg)));
      data[i + 2] = Math.max(0, Math.min(255, Math.round(b)));
    }
  }
  return { width: n, height: n, data };
}

/** RGB → RGBA with opaque alpha (the layout canvases and the engine's RawImage use). */
export function toRgba(image: RgbImage): Uint8ClampedArray {
  const out = new Uint8ClampedArray(image.width * image.height * 4);
  for (let i = 0, j = 0; i < image.data.length; i += 3, j += 4) {
    out[j] = image.data[i]!;
    out[j + 1] = image.data[i + 1]!;
    out[j + 2] = image.data[i + 2]!;
    out[j + 3] = 255;
  }
  return out;
}

/**
 * For each `patch`×`patch` cell (row-major), the index of the object covering most of it, or -1 when no object covers
 * at least `minPixels` of it. Used as dense labels for vision pretraining.
 */
export function patchOwners(scene: Scene, patch: number, minPixels = 4): Int32Array {
  const g = Math.floor(scene.size / patch);
  const out = new Int32Array(g * g).fill(-1);
  const samples = 2;
  for (let gy = 0; gy < g; gy++) {
    for (let gx = 0; gx < g; gx++) {
      let best = -1;
      let bestArea = minPixels - 1e-9;
      scene.objects.forEach((o, k) => {
        let hits = 0;
        for (let y = gy * patch; y < (gy + 1) * patch; y++) {
          for (let x = gx * patch; x < (gx + 1) * patch; x++) {
            for (let sy = 0; sy < samples; sy++) {
              for (let sx = 0; sx < samples; sx++) {
                if (inside(o, x + (sx + 0.5) / samples, y + (sy + 0.5) / samples)) hits++;
              }
            }
          }
        }
        const area = hits / (samples * samples);
        if (area > bestArea) {
          bestArea = area;
          best = k;
        }
      });
      out[gy * g + gx] = best;
    }
  }
  return out;
}
