// Tests that check meaning: the trained micro LLaVA, run through our engine (onnxruntime-node, folder source, the
// model's own chat template), says what is in hand-drawn scenes; and the same questions go wrong when the pixels
// reach it with swapped channels or without normalisation, so these tests guard the image path.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drawScene, microModelDir } from '../fixtures/micro-model';
import { ask, evaluationEngine, rawImage, withoutNormalisation } from '../../src/training/eval/evaluate';
import { folderSource } from '../../src/node/folder-source';
import type { EngineApi } from '../../src/shared/protocol';

let engine: EngineApi;
let dir = '';

beforeAll(async () => {
  dir = microModelDir();
  engine = await evaluationEngine(dir);
}, 120_000);

afterAll(async () => {
  await engine?.unload();
});

const redCircleLeft = drawScene([{ slot: 'left', color: 'red', shape: 'circle' }]);
const threeShapes = drawScene([
  { slot: 'left', color: 'blue', shape: 'triangle' },
  { slot: 'middle', color: 'yellow', shape: 'square' },
  { slot: 'right', color: 'green', shape: 'circle' },
]);

describe('the micro model sees', () => {
  it('names red, circle and left for a red circle on the left', async () => {
    const answer = (
      await ask(engine, rawImage(redCircleLeft), 'Describe the image in detail.')
    ).toLowerCase();
    expect(answer).toContain('red');
    expect(answer).toContain('circle');
    expect(answer).toContain('left');
  });

  it('counts three shapes', async () => {
    const answer = (await ask(engine, rawImage(threeShapes), 'How many shapes are there?')).toLowerCase();
    expect(answer).toContain('three');
  });

  it('answers the same under the vicuna_v1 template', async () => {
    const answer = (
      await ask(engine, rawImage(redCircleLeft), 'What color is the circle?', 'vicuna_v1')
    ).toLowerCase();
    expect(answer).toContain('red');
  });
});

describe('the same questions catch a broken image path', () => {
  it('stops naming red when the channels arrive as BGR', async () => {
    const answer = (
      await ask(engine, rawImage(redCircleLeft, 'bgr'), 'Describe the image in detail.')
    ).toLowerCase();
    expect(answer).not.toContain('red');
  });

  it('stops describing the scene right when normalisation is dropped', async () => {
    const broken = await evaluationEngine(withoutNormalisation(folderSource(dir)));
    try {
      const a = (await ask(broken, rawImage(redCircleLeft), 'Describe the image in detail.')).toLowerCase();
      const b = (await ask(broken, rawImage(threeShapes), 'How many shapes are there?')).toLowerCase();
      const bothRight =
        a.includes('red') && a.includes('circle') && a.includes('left') && b.includes('three');
      expect(bothRight).toBe(false);
    } finally {
      await broken.unload();
    }
  });
});
