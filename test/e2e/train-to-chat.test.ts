// Trained in the browser, used in the chat: /train.html aligns a fresh projector for 20 steps, "Use this model in
// the chat" stores it through the weight store's local import, and the chat lists it under its name, loads it from
// the store (no weights from the server) and answers a sample scene with it. The answer must equal what our engine
// answers in Node with the same 20 steps replayed there (same seed, TF.js's WASM backend in both, greedy decoding):
// the proof that the chat ran the model just trained, not the built-in one.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { appForSuite, askSampleScene, screenshot } from './ui-harness/app-page';
import { evaluationEngine, ask, rawImage } from '../../src/training/eval/evaluate';
import { loadMicroModel } from '../../src/training/fixture';
import { initTf } from '../../src/training/model/backend';
import { alignModel, alignProjector } from '../../src/training/train/browser-align';
import { alignedWeights } from '../../src/training/train/aligned-export';
import { writeMicroModelFolder } from '../../src/training/train/export';
import { microModelDir } from '../fixtures/micro-model';
import { FIRST_SEEDS, samplePixels, sampleSceneFor } from '../../src/ui/lib/sample-scenes';

const STEPS = 20;
/** Caption pairs per step: small, so the run and its replay in Node stay quick on a busy machine. */
const BATCH = 4;
const LABEL = `micro LLaVA, projector aligned in this browser, ${STEPS} steps`;

// A returning user with greedy decoding and the answer budget `ask` uses in Node; no model chosen yet.
const app = appForSuite({ settings: { welcomed: true, temperature: 0, maxNewTokens: 80 } });
let dir: string;

/** The same run in Node: the train page's seed (1), steps and batch, then the folder the page stores. */
async function replayInNode(): Promise<string> {
  await initTf();
  const micro = loadMicroModel();
  const m = alignModel(micro.config, micro.weights, micro.tokenizer, 1);
  try {
    await alignProjector(m, {
      steps: STEPS,
      seed: 1,
      batch: BATCH,
      onStep: () => {},
      shouldStop: () => false,
    });
    dir = mkdtempSync(path.join(os.tmpdir(), 'train-to-chat-'));
    writeMicroModelFolder(dir, { ...micro, weights: alignedWeights(micro.weights, m.params) });
    return dir;
  } finally {
    m.params.dispose();
  }
}

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('a model aligned on /train.html, used in the chat', () => {
  it('trains, stores under its name, loads in the chat and answers a sample scene with it', async () => {
    const { page, server } = app;
    await page.goto(`${server.origin}/train.html?steps=${STEPS}&batch=${BATCH}`);
    expect(await page.isHidden('#use-in-chat')).toBe(true);
    await page.click('#start');
    await page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset.state ?? ''), null, {
      timeout: 150_000,
    });
    expect(await page.textContent('#status'), app.browser.logs.join('\n')).toMatch(/^Done: 20 steps/);

    await page.click('#use-in-chat');
    await page.waitForFunction(
      () => {
        const s = document.querySelector<HTMLElement>('#use-status');
        return s?.dataset.label !== undefined || s?.classList.contains('error');
      },
      null,
      { timeout: 60_000 },
    );
    expect(await page.textContent('#use-status')).toContain(`Stored as “${LABEL}”`);
    await screenshot(page, 'train-use-in-chat');

    const requestsBefore = server.requests.length;
    await page.click('#open-chat');
    await page.waitForSelector('#composer-input');
    await page.click('.model-button');
    const card = page.locator('.model-card', { has: page.locator(`h4:text-is("${LABEL}")`) });
    expect(await card.locator('.badge').first().textContent()).toBe('Trained in this browser');
    await card.scrollIntoViewIfNeeded();
    await screenshot(page, 'train-model-card');
    await card.getByRole('button', { name: 'Load', exact: true }).click();
    // Loaded from the store under the id the training page gave it.
    await page.waitForFunction(
      () =>
        document
          .querySelector('[data-testid="loaded-model"]')
          ?.textContent?.startsWith('local:micro-llava-aligned-'),
      null,
      { timeout: 120_000 },
    );
    if (await page.locator('.model-panel').count()) await page.keyboard.press('Escape');
    // The header's model chip names it.
    expect(await page.textContent('.model-button-label')).toBe(LABEL);

    // The empty chat offers the sample scenes for this model too; one click asks.
    const sample = sampleSceneFor(FIRST_SEEDS[2]!, 'detail');
    const answer = await askSampleScene(page, sample.seed, sample.kind);
    expect(answer.error).toBe('');
    expect(answer.text.trim().length).toBeGreaterThan(0);
    await screenshot(page, 'train-model-answers');

    // Its weights came from this browser's store: nothing under /models/ was fetched after training.
    expect(
      server.requests
        .slice(requestsBefore)
        .filter((r) => r.path.startsWith('/models/') && /onnx/.test(r.path)),
    ).toEqual([]);

    const image = rawImage(samplePixels(sample));
    const builtIn = await evaluationEngine(microModelDir());
    const builtInAnswer = await ask(builtIn, image, sample.question).finally(() => builtIn.unload());
    const trained = await evaluationEngine(await replayInNode());
    const expected = await ask(trained, image, sample.question).finally(() => trained.unload());
    console.log(`[train-to-chat] chat: ${answer.text.trim()}\n  built-in model: ${builtInAnswer.trim()}`);
    expect(answer.text.trim()).toBe(expected.trim());
    // Twenty steps of a fresh projector do not reach the built-in model's: a different answer, so the equality
    // above could only come from the model just trained.
    expect(answer.text.trim()).not.toBe(builtInAnswer.trim());
    expect(app.browser.blockedRequests).toEqual([]);
  });
});
