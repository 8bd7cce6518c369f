// Owns the symbolic description of a synthetic scene (objects, colours, shapes, slots, boxes) and its random
// sampling. It knows nothing about pixels or words.

import type { Rng } from './rng';

export const COLORS = ['red', 'green', 'blue', 'yellow'] as const;
export const SHAPES = ['circle', 'square', 'triangle'] as const;
/** Three columns: every object sits in its own column, so each has one position word. */
export const SLOTS = ['left', 'middle', 'right'] as const;

export type Color = (typeof COLORS)[number];
export type Shape = (typeof SHAPES)[number];
export type Slot = (typeof SLOTS)[number];

/** An axis-aligned box in pixels: [x0, y0, x1, y1], as LLaVA's symbolic descriptions give them (normalised there). */
export type Box = [number, number, number, number];

export interface SceneObject {
  color: Color;
  shape: Shape;
  slot: Slot;
  /** Centre and half-size in pixels. */
  cx: number;
  cy: number;
  r: number;
  /** Small per-object colour jitter so that no colour is a single exact RGB value. */
  rgb: [number, number, number];
  box: Box;
}

export interface Scene {
  id: string;
  size: number;
  /** Background grey level (0–255) and per-pixel noise amplitude. */
  background: number;
  noise: number;
  noiseSeed: number;
  /** Objects ordered left to right. */
  objects: SceneObject[];
}

/** Nominal RGB of each colour; rendering jitters around these. */
export const PALETTE: Record<Color, [number, number, number]> = {
  red: [215, 40, 40],
  green: [40, 165, 60],
  blue: [40, 80, 215],
  yellow: [230, 195, 35],
};

export interface SceneOptions {
  size?: number;
  maxObjects?: number;
}

/** Samples one scene: 1–3 objects, each in a distinct column, random colour/shape, jittered position and size. */
export function sampleScene(rng: Rng, id: string, options: SceneOptions = {}): Scene {
  const size = options.size ?? 32;
  const maxObjects = Math.min(options.maxObjects ?? 3, SLOTS.length);
  const count = 1 + rng.int(maxObjects);
  const slotIdx = rng
    .shuffle([0, 1, 2])
    .slice(0, count)
    .sort((a, b) => a - b);
  const col = size / SLOTS.length;
  const objects: SceneObject[] = slotIdx.map((s) => {
    const color = rng.pick(COLORS);
    const shape = rng.pick(SHAPES);
    // Large enough (6–9 px across) that a circle and a square differ by more than anti-aliasing, small enough that
    // neighbours never touch.
    const r = rng.uniform(0.3, 0.42) * col;
    const cx = (s + 0.5) * col + rng.uniform(-0.05, 0.05) * col;
    const cy = rng.uniform(r + 1, size - r - 1);
    const base = PALETTE[color];
    const rgb = base.map((v) => Math.max(0, Math.min(255, Math.round(v + rng.uniform(-18, 18))))) as [
      number,
      number,
      number,
    ];
    const box: Box = [cx - r, cy - r, cx + r, cy + r].map((v) => Math.round(v * 10) / 10) as Box;
    return { color, shape, slot: SLOTS[s]!, cx, cy, r, rgb, box };
  });
  return {
    id,
    size,
    background: Math.round(rng.uniform(205, 250)),
    noise: Math.round(rng.uniform(0, 10)),
    noiseSeed: rng.int(2 ** 31),
    objects,
  };
}
