// Owns the first-run screen: what the app does, what it will download and how big, and the offline demo model.
import { For, onMount, Show, type JSX } from 'solid-js';
import { formatBytes, shortModelName } from '../lib/format';
import { useModels } from '../stores/model-store';
import { useSettings } from '../stores/settings-store';

export function FirstRun(props: { onDone: (openPanel: boolean) => void }): JSX.Element {
  const models = useModels();
  const { update } = useSettings();
  let heading!: HTMLHeadingElement;
  onMount(() => heading.focus());

  /** Choosing a model opens the model panel, where its download progress shows. */
  const finish = (modelId: string | null, openPanel: boolean) => {
    update({ welcomed: true, ...(modelId ? { modelId } : {}) });
    props.onDone(openPanel);
    if (modelId) void models.load(modelId);
  };

  return (
    <div class="first-run-backdrop">
      <section class="first-run" role="dialog" aria-modal="true" aria-labelledby="first-run-title">
        <h2 id="first-run-title" ref={heading} tabindex="-1">
          LLaVA, on your own device
        </h2>
        <p>
          Drop a picture, ask about it, and a vision-language model answers — computed by this browser on your
          GPU (or CPU). Your pictures and chats never leave this device.
        </p>
        <p>
          To answer, the app first <strong>downloads a model once</strong> into this browser’s storage. After
          that it works offline. Pick one:
        </p>
        <ul class="first-run-models">
          <For each={models.catalog()}>
            {(m) => (
              <li>
                <div>
                  <strong>{m.randomWeights ? shortModelName(m.name) : m.name}</strong>
                  <span class="muted">
                    {' '}
                    — {m.downloadBytes === null ? 'size unknown' : formatBytes(m.downloadBytes)} to download
                    <Show when={m.gpuMemoryBytes}>{(g) => <>, ~{formatBytes(g())} GPU memory</>}</Show>
                  </span>
                  <Show when={m.randomWeights}>
                    <p class="badge badge-warn">
                      Random weights: checks that everything runs, offline. Its answers are noise.
                    </p>
                  </Show>
                </div>
                <button
                  type="button"
                  class="button"
                  classList={{ primary: m.randomWeights }}
                  onClick={() => finish(m.id, true)}
                >
                  {m.randomWeights ? 'Try the demo' : 'Download'}
                </button>
              </li>
            )}
          </For>
        </ul>
        <div class="first-run-actions">
          <button type="button" class="button" onClick={() => finish(null, true)}>
            Choose later
          </button>
        </div>
      </section>
    </div>
  );
}
