// The micro data set: seeded scenes, their pixels, the rule-made questions and the LLaVA JSON formats.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Rng } from '../../src/training/data/rng';
import { PALETTE, sampleScene, type Scene } from '../../src/training/data/scene';
import { renderScene } from '../../src/training/data/render';
import { decodePng, encodePng } from '../../src/training/data/png';
import {
  ALL_CATEGORIES,
  caption,
  detailedDescription,
  makeQuestion,
  normalizeAnswer,
} from '../../src/training/data/language';
import { FILES, generateEvalSplit, readJsonl, writeDataset } from '../../src/training/data/dataset';
import { patchLabels } from '../../src/training/train/vision-probe';
import type { EvalQuestion, LlavaRecord } from '../../src/training/data/llava-format';

function scene(objects: Scene['objects']): Scene {
  return { id: 's', size: 32, background: 230, noise: 0, noiseSeed: 1, objects };
}

const redCircleLeft = scene([
  {
    color: 'red',
    shape: 'circle',
    slot: 'left',
    cx: 5.5,
    cy: 16,
    r: 3.5,
    rgb: PALETTE.red,
    box: [2, 12.5, 9, 19.5],
  },
]);

describe('scenes and pixels', () => {
  it('samples the same scene from the same seed and another from another seed', () => {
    const a = sampleScene(new Rng(7), 'a');
    const b = sampleScene(new Rng(7), 'a');
    const c = sampleScene(new Rng(8), 'a');
    expect(a).toEqual(b);
    expect(JSON.stringify(a)).not.toEqual(JSON.stringify(c));
  });

  it('puts every object in its own column, ordered left to right', () => {
    const rng = new Rng(3);
    for (let i = 0; i < 200; i++) {
      const s = sampleScene(rng, String(i));
      const slots = s.objects.map((o) => o.slot);
      expect(new Set(slots).size).toBe(slots.length);
      expect(s.objects.map((o) => o.cx)).toEqual([...s.objects.map((o) => o.cx)].sort((x, y) => x - y));
    }
  });

  it('draws the object colour at its centre and the background elsewhere', () => {
    const img = renderScene(redCircleLeft);
    const at = (x: number, y: number) =>
      Array.from(img.data.subarray((y * 32 + x) * 3, (y * 32 + x) * 3 + 3));
    expect(at(5, 16)).toEqual([...PALETTE.red]);
    expect(at(26, 16)).toEqual([230, 230, 230]);
  });

  it('labels each patch with the colour, shape, kind and column of the object covering it', () => {
    const labels = patchLabels(redCircleLeft, 8);
    expect(labels).toHaveLength(16 * 4);
    const at = (row: number, col: number) => labels.slice((row * 4 + col) * 4, (row * 4 + col) * 4 + 4);
    // red = colour 1, circle = shape 1, kind 1 (red circle), left = column 1; the far right column is empty.
    expect(at(1, 0)).toEqual([1, 1, 1, 1]);
    expect(at(2, 0)).toEqual([1, 1, 1, 1]);
    expect(at(1, 3)).toEqual([0, 0, 0, 0]);
    expect(at(0, 3)).toEqual([0, 0, 0, 0]);
  });

  it('round-trips images through PNG', () => {
    const img = renderScene(sampleScene(new Rng(11), 'x'));
    const back = decodePng(encodePng(img));
    expect(back.width).toBe(32);
    expect(Buffer.from(back.data).equals(Buffer.from(img.data))).toBe(true);
  });
});

describe('rule-made language', () => {
  it('captions and describes the scene left to right', () => {
    const s = scene([
      { ...redCircleLeft.objects[0]! },
      {
        color: 'blue',
        shape: 'square',
        slot: 'right',
        cx: 26,
        cy: 16,
        r: 3.5,
        rgb: PALETTE.blue,
        box: [0, 0, 0, 0],
      },
    ]);
    expect(caption(s)).toBe('a red circle on the left and a blue square on the right.');
    expect(detailedDescription(s)).toBe(
      'The image shows two shapes on a gray background. There is a red circle on the left. There is a blue square on the right.',
    );
  });

  it('answers count and colour questions from the scene', () => {
    const rng = new Rng(5);
    for (let i = 0; i < 100; i++) {
      const s = sampleScene(rng, String(i));
      const count = makeQuestion(s, 'count', rng)!;
      const word = ['one', 'two', 'three'][s.objects.length - 1]!;
      expect(count.answer).toContain(word);
      const color = makeQuestion(s, 'color', rng)!;
      expect(s.objects.some((o) => color.answer.endsWith(`${o.color}.`))).toBe(true);
    }
  });

  it('normalises answers for exact match only in case, spacing and the final stop', () => {
    expect(normalizeAnswer(' The circle  is Red. ')).toBe('the circle is red');
    expect(normalizeAnswer('The circle is red')).not.toBe(normalizeAnswer('The circle is blue.'));
  });
});

describe('data set files', () => {
  it('writes LLaVA-Instruct records of the three kinds, caption pairs and eval questions', () => {
    const root = mkdtempSync(path.join(tmpdir(), 'micro-data-'));
    const written = writeDataset(root, {
      seed: 3,
      trainScenes: 30,
      devScenes: 5,
      testScenes: 8,
      questionsPerEvalScene: 3,
    });
    expect(written.counts.instructions).toBe(90);
    const instruct = JSON.parse(readFileSync(path.join(root, FILES.instruct), 'utf8')) as LlavaRecord[];
    expect(new Set(instruct.map((r) => r.kind))).toEqual(new Set(['conversation', 'detail', 'complex']));
    for (const r of instruct) {
      expect(r.conversations[0]!.from).toBe('human');
      expect(r.conversations[0]!.value.startsWith('<image>\n')).toBe(true);
      expect(r.conversations.map((t) => t.from)).toEqual(
        r.conversations.map((_, i) => (i % 2 ? 'gpt' : 'human')),
      );
      const png = readFileSync(path.join(root, r.image!));
      expect(decodePng(png).width).toBe(32);
    }
    const captions = JSON.parse(readFileSync(path.join(root, FILES.pretrain), 'utf8')) as LlavaRecord[];
    expect(captions[0]!.conversations[0]!.value).toContain('<image>');
    const questions = readJsonl<EvalQuestion>(path.join(root, FILES.questions('test')));
    expect(questions).toHaveLength(24);
    expect(Object.keys(questions[0]!).sort()).toEqual(['category', 'image', 'kind', 'question_id', 'text']);
  });

  it('draws held-out splits from their own seeds, covering every category', () => {
    const dev = generateEvalSplit(1, 'dev', 60, 3);
    const test = generateEvalSplit(1, 'test', 60, 3);
    const key = (s: Scene) => JSON.stringify(s.objects);
    const devKeys = new Set(dev.scenes.map(key));
    expect(test.scenes.filter((s) => devKeys.has(key(s)))).toHaveLength(0);
    expect(new Set(test.questions.map((q) => q.category))).toEqual(new Set(ALL_CATEGORIES));
  });
});
