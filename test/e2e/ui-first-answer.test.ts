// A newcomer's first answer, in the built app: the first-run screen offers the built-in micro LLaVA first (test
// models folded away), a sample scene starter is answered exactly as our engine answers the same seeded scene in
// Node, "New scenes" draws others, and a photo gets its answer plus a hint that this model only knows shapes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  appForSuite,
  askSampleScene,
  dropFiles,
  lastAnswer,
  screenshot,
  waitAnswerDone,
  waitAnswerText,
} from './ui-harness/app-page';
import { makePng, spec } from './ui-harness/images';
import { microModelDir } from '../fixtures/micro-model';
import { evaluationEngine } from '../../src/training/eval/evaluate';
import { ask, rawImage } from '../../src/training/eval/evaluate';
import { FIRST_SEEDS, samplePixels, sampleSceneFor } from '../../src/ui/lib/sample-scenes';
import type { EngineApi } from '../../src/shared/protocol';

// A first visit, with greedy decoding so the answer can be compared with the engine's in Node.
const app = appForSuite({ settings: { temperature: 0 }, viewport: { width: 1100, height: 760 } });
let engine: EngineApi;

beforeAll(async () => {
  engine = await evaluationEngine(microModelDir());
});
afterAll(async () => {
  await engine?.unload();
});

async function seedsShown(): Promise<string[]> {
  return app.page.$$eval('.scene-starter', (els) => els.map((e) => e.getAttribute('data-seed') ?? ''));
}

describe('the first answer, with no download', () => {
  it('offers the built-in micro model first, saying what it knows; the random-weights model is folded away', async () => {
    const { page } = app;
    const dialog = page.locator('.first-run[role="dialog"]');
    await dialog.waitFor();
    const first = dialog.locator('.first-run-models li').first();
    await page.waitForFunction(() =>
      /\d+(\.\d+)? (KB|MB)/.test(document.querySelector('.first-run-builtin')?.textContent ?? ''),
    );
    const text = (await first.textContent()) ?? '';
    expect(text).toContain('Micro LLaVA');
    expect(text).toContain('nothing to download');
    expect(text).toMatch(/circles, squares and triangles/);
    expect(text).toMatch(/nothing of photos, text or code/);
    const tests = dialog.locator('details.test-models');
    expect(await tests.getAttribute('open')).toBeNull();
    expect(await tests.textContent()).toContain('Tiny LLaVA');
    await page.click('.first-run button:has-text("Try it now")');
    await page.waitForSelector('.first-run', { state: 'detached' });
    expect(await seedsShown()).toEqual(FIRST_SEEDS.map(String));
  });

  it('answers a sample scene as the engine does in Node, naming each shape and colour', async () => {
    const { page } = app;
    const sample = sampleSceneFor(FIRST_SEEDS[2]!, 'detail');
    const answer = await askSampleScene(page, sample.seed, sample.kind);
    expect(answer.error).toBe('');
    const expected = await ask(engine, rawImage(samplePixels(sample)), sample.question);
    expect(answer.text.trim()).toBe(expected.trim());
    const said = answer.text.toLowerCase();
    for (const o of sample.scene.objects) {
      expect(said).toContain(`${o.color} ${o.shape}`);
    }
    expect(await page.locator('.message-user .message-text').textContent()).toBe(sample.question);
    expect(await page.locator('.photo-hint').count()).toBe(0);
    await screenshot(page, 'first-answer');
  });

  it('draws new random scenes with "New scenes"', async () => {
    const { page } = app;
    await page.click('button[aria-label="New chat"]');
    await page.waitForSelector('.scene-starter');
    const before = await seedsShown();
    await page.click('.sample-scenes button:has-text("New scenes")');
    await page.waitForFunction((old) => {
      const now = [...document.querySelectorAll('.scene-starter')].map((e) => e.getAttribute('data-seed'));
      return now.length === 3 && now.every((s, i) => s !== old[i]);
    }, before);
    // Each new scene is a 32-pixel picture drawn in the page.
    await page.waitForFunction(() =>
      [...document.querySelectorAll<HTMLImageElement>('.scene-starter img')].every(
        (img) => img.complete && img.naturalWidth === 32,
      ),
    );
  });

  it('answers a photo too, with a one-line hint that this model knows only shapes', async () => {
    const { page } = app;
    await dropFiles(page, [spec('holiday.png', 'image/png', makePng(96, 64, 7))]);
    await page.waitForSelector('.attachment img[alt="holiday.png"]');
    await page.fill('#composer-input', 'What is in this picture?');
    await page.press('#composer-input', 'Enter');
    await page.waitForSelector('.message-assistant');
    // The answer has begun (the model may still be loading when its message appears), then ends.
    await waitAnswerText(page, 1);
    await waitAnswerDone(page);
    const answer = await lastAnswer(page);
    expect(answer.error).toBe('');
    expect(answer.text.length).toBeGreaterThan(0);
    await page.waitForSelector('.photo-hint');
    expect(await page.locator('.photo-hint').textContent()).toMatch(/only knows simple coloured shapes/);
  });

  it('sent no request outside localhost', () => {
    expect(app.browser.blockedRequests).toEqual([]);
  });
});
