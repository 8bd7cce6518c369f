// Owns the sample pictures the empty chat offers for the built-in micro model: scenes drawn by the project's own
// training-data renderer from a seed, each paired with a question of a kind the model was trained on. Pure (no DOM):
// the page turns the pixels into a PNG; tests in Node draw the same scene from the same seed.
import { detailedDescription } from '../../training/data/language';
import { renderScene, type RgbImage } from '../../training/data/render';
import { deriveSeed, Rng } from '../../training/data/rng';
import { sampleScene, type Scene } from '../../training/data/scene';

/** The questions, one per starter, in the words the model was trained on (American "color"). */
export type SampleKind = 'color' | 'count' | 'detail';
export const SAMPLE_KINDS: readonly SampleKind[] = ['color', 'count', 'detail'];

export interface SampleScene {
  seed: number;
  kind: SampleKind;
  scene: Scene;
  question: string;
  /** What a right answer says, in the training data's words (for tests and the alt text). */
  expected: string;
  /** File name of the picture: marks it as a sample scene (the photo hint is not shown for these). */
  fileName: string;
}

/** The seeds a first visit shows, so the first screen (and the README's screenshot) is always the same. */
export const FIRST_SEEDS: readonly number[] = [1, 2, 3];

const SAMPLE_PREFIX = 'sample-scene-';

/** True for a picture the app drew itself from a sample seed. */
export function isSampleSceneName(name: string): boolean {
  return name.startsWith(SAMPLE_PREFIX);
}

function colorQuestion(scene: Scene): { question: string; expected: string } {
  const objects = scene.objects;
  const unique = objects.find((o) => objects.filter((x) => x.shape === o.shape).length === 1);
  if (unique)
    return {
      question: `What color is the ${unique.shape}?`,
      expected: `The ${unique.shape} is ${unique.color}.`,
    };
  const o = objects[0]!;
  const where = o.slot === 'middle' ? 'in the middle' : `on the ${o.slot}`;
  return { question: `What color is the shape ${where}?`, expected: `The shape ${where} is ${o.color}.` };
}

const NUMBERS = ['no', 'one', 'two', 'three'];

/** The scene drawn from `seed` and the question of `kind` about it. */
export function sampleSceneFor(seed: number, kind: SampleKind): SampleScene {
  const scene = sampleScene(new Rng(deriveSeed(seed, 'app-sample-scene')), `sample-${seed}`);
  const n = scene.objects.length;
  const qa =
    kind === 'color'
      ? colorQuestion(scene)
      : kind === 'count'
        ? {
            question: 'How many shapes are there?',
            expected: n === 1 ? 'There is one shape.' : `There are ${NUMBERS[n]} shapes.`,
          }
        : { question: 'Describe the image in detail.', expected: detailedDescription(scene) };
  return { seed, kind, scene, ...qa, fileName: `${SAMPLE_PREFIX}${seed}.png` };
}

/** The three starters for a set of seeds (one per question kind). */
export function sampleStarters(seeds: readonly number[] = FIRST_SEEDS): SampleScene[] {
  return SAMPLE_KINDS.map((kind, i) => sampleSceneFor(seeds[i % seeds.length]!, kind));
}

/** The scene's pixels (RGB, scene.size square). */
export function samplePixels(sample: SampleScene): RgbImage {
  return renderScene(sample.scene);
}

/** A fresh seed for "new scene" (any 31-bit number; the scene it draws is as random as the training data's). */
export function randomSeed(): number {
  return 1 + Math.floor(Math.random() * 0x7ffffffe);
}
