// Owns the sample-scene starters of the empty chat: three scenes drawn in the page by the training-data renderer,
// each with a question the built-in micro model answers; clicking one asks it. "New scenes" draws fresh ones.
import { createResource, createSignal, For, onCleanup, Show, type JSX } from 'solid-js';
import { errorMessage } from '../../shared/errors';
import { toRgba } from '../../training/data/render';
import { BUILT_IN_MODEL_ID } from '../../store/catalog';
import {
  randomSeed,
  samplePixels,
  sampleStarters,
  FIRST_SEEDS,
  type SampleScene,
} from '../lib/sample-scenes';
import { useChat } from '../stores/chat-store';
import { useComposer } from '../stores/composer-store';
import { useNotices } from '../stores/notice-store';
import { useSettings } from '../stores/settings-store';
import { Icon } from './Icon';

interface DrawnScene {
  sample: SampleScene;
  file: File;
  url: string;
}

/** The scene as a lossless PNG file (the same pixels the model was trained on), named as a sample scene. */
async function drawScene(sample: SampleScene): Promise<DrawnScene> {
  const pixels = samplePixels(sample);
  const canvas = document.createElement('canvas');
  canvas.width = pixels.width;
  canvas.height = pixels.height;
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('This browser cannot draw on a canvas.');
  ctx.putImageData(new ImageData(new Uint8ClampedArray(toRgba(pixels)), pixels.width, pixels.height), 0, 0);
  const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, 'image/png'));
  if (!blob) throw new Error('The sample scene could not be drawn.');
  const file = new File([blob], sample.fileName, { type: 'image/png' });
  return { sample, file, url: URL.createObjectURL(blob) };
}

function describeObjects(sample: SampleScene): string {
  return sample.scene.objects
    .map((o) => `a ${o.color} ${o.shape} ${o.slot === 'middle' ? 'in the middle' : `on the ${o.slot}`}`)
    .join(', ');
}

export function SampleScenes(): JSX.Element {
  const chat = useChat();
  const composer = useComposer();
  const notices = useNotices();
  const { settings, update } = useSettings();
  const [seeds, setSeeds] = createSignal<readonly number[]>(FIRST_SEEDS);
  const [scenes] = createResource(seeds, (s) => Promise.all(sampleStarters(s).map(drawScene)));
  let shown: DrawnScene[] = [];
  const release = (list: DrawnScene[]) => list.forEach((d) => URL.revokeObjectURL(d.url));
  onCleanup(() => release(shown));

  const ask = async (drawn: DrawnScene) => {
    if (chat.generating() !== null) return;
    // With no model chosen yet, the scene goes to the built-in model that knows such pictures.
    if (settings.modelId === null) update({ modelId: BUILT_IN_MODEL_ID });
    if ((await composer.addFiles([drawn.file])) === 0) return;
    composer.setDraft(drawn.sample.question);
    const { text, images } = composer.take();
    chat.send(text, images).catch((error: unknown) => {
      composer.restore(text, images);
      notices.error(errorMessage(error));
    });
  };

  return (
    <section class="sample-scenes" aria-labelledby="sample-scenes-title">
      <div class="sample-scenes-head">
        <h3 id="sample-scenes-title">Or ask about a sample scene</h3>
        <button
          type="button"
          class="button"
          onClick={() => setSeeds([randomSeed(), randomSeed(), randomSeed()])}
          title="Draw three new random scenes"
        >
          <Icon name="refresh" size={16} /> New scenes
        </button>
      </div>
      <Show when={scenes()}>
        {(list) => {
          release(shown.filter((d) => !list().includes(d)));
          shown = list();
          return (
            <ul class="starters scene-starters">
              <For each={list()}>
                {(d) => (
                  <li>
                    <button
                      type="button"
                      class="starter scene-starter"
                      data-seed={d.sample.seed}
                      data-kind={d.sample.kind}
                      disabled={chat.generating() !== null}
                      onClick={() => void ask(d)}
                    >
                      <img
                        src={d.url}
                        alt={`Sample scene: ${describeObjects(d.sample)}`}
                        width="64"
                        height="64"
                      />
                      <span>{d.sample.question}</span>
                    </button>
                  </li>
                )}
              </For>
            </ul>
          );
        }}
      </Show>
    </section>
  );
}
