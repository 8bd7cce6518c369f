// Meaning through the real app path: the product page in Chromium, its worker and engine, loading the trained micro
// LLaVA (the app's built-in model), a dropped PNG, a typed question. The answer must say what is there.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropFiles, lastAnswer, openApp, waitAnswerDone, type AppPage } from './ui-harness/app-page';
import { drawScene } from '../fixtures/micro-model';
import { BUILT_IN_MODEL_ID } from '../../src/store/catalog';
import { encodePng } from '../../src/training/data/png';
import type { RgbImage } from '../../src/training/data/render';

let app: AppPage;

function png(name: string, image: RgbImage) {
  return { name, type: 'image/png', base64: Buffer.from(encodePng(image)).toString('base64') };
}

async function askAbout(name: string, image: RgbImage, question: string): Promise<string> {
  const { page } = app;
  await page.click('button[aria-label="New chat"]');
  await page.waitForSelector('.empty-state');
  await dropFiles(page, [png(name, image)]);
  await page.waitForSelector(`.attachment img[alt="${name}"]`);
  await page.fill('#composer-input', question);
  await page.press('#composer-input', 'Enter');
  await page.waitForSelector('.message-assistant');
  await waitAnswerDone(page);
  const answer = await lastAnswer(page);
  expect(answer.error).toBe('');
  return answer.text.toLowerCase();
}

describe('the trained micro model in the app', () => {
  beforeAll(async () => {
    // The app's built-in model (served from BUILT_IN_PREFIX by the harness), greedy.
    app = await openApp({
      settings: { welcomed: true, modelId: BUILT_IN_MODEL_ID, temperature: 0, maxNewTokens: 80 },
    });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('names red, circle and left for a red circle on the left', async () => {
    const answer = await askAbout(
      'red-circle.png',
      drawScene([{ slot: 'left', color: 'red', shape: 'circle' }]),
      'Describe the image in detail.',
    );
    expect(answer).toContain('red');
    expect(answer).toContain('circle');
    expect(answer).toContain('left');
  });

  it('counts three shapes', async () => {
    const image = drawScene([
      { slot: 'left', color: 'blue', shape: 'triangle' },
      { slot: 'middle', color: 'yellow', shape: 'square' },
      { slot: 'right', color: 'green', shape: 'circle' },
    ]);
    const answer = await askAbout('three.png', image, 'How many shapes are there?');
    expect(answer).toContain('three');
  });
});
