// Owns the first-run screen: what the app does, the built-in model that answers at once with no download, the real
// models and how big their download is, and (folded away) the test models that only check the pipeline.
import { For, onMount, Show, type JSX } from 'solid-js';
import { formatBytes, shortModelName } from '../lib/format';
import { useModels, type CatalogModel } from '../stores/model-store';
import { useSettings } from '../stores/settings-store';

export function FirstRun(props: { onDone: (openPanel: boolean) => void }): JSX.Element {
  const models = useModels();
  const { update } = useSettings();
  let heading!: HTMLHeadingElement;
  onMount(() => heading.focus());

  const builtIn = () => models.catalog().filter((m) => m.bundled && !m.randomWeights);
  const downloads = () => models.catalog().filter((m) => !m.bundled && !m.randomWeights);
  const testModels = () => models.catalog().filter((m) => m.randomWeights);

  /** A download opens the model panel, where its progress shows; the built-in model goes straight to the chat. */
  const finish = (modelId: string | null, openPanel: boolean) => {
    update({ welcomed: true, ...(modelId ? { modelId } : {}) });
    props.onDone(openPanel);
    if (modelId) void models.load(modelId);
  };

  const size = (m: CatalogModel) =>
    m.downloadBytes === null ? 'size unknown' : formatBytes(m.downloadBytes);

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
        <ul class="first-run-models" aria-label="Built into the app">
          <For each={builtIn()}>
            {(m) => (
              <li class="first-run-builtin">
                <div>
                  <strong>{m.name}</strong>
                  <span class="muted"> — built in, {size(m)}, nothing to download</span>
                  <p class="small">{m.description}</p>
                </div>
                <button type="button" class="button primary" onClick={() => finish(m.id, false)}>
                  Try it now
                </button>
              </li>
            )}
          </For>
        </ul>
        <Show when={downloads().length > 0}>
          <p>
            For photos, a real model is <strong>downloaded once</strong> into this browser’s storage; after
            that it works offline too:
          </p>
          <ul class="first-run-models" aria-label="Models to download">
            <For each={downloads()}>
              {(m) => (
                <li>
                  <div>
                    <strong>{m.name}</strong>
                    <span class="muted">
                      {' '}
                      — {size(m)} to download
                      <Show when={m.gpuMemoryBytes}>{(g) => <>, ~{formatBytes(g())} GPU memory</>}</Show>
                    </span>
                  </div>
                  <button type="button" class="button" onClick={() => finish(m.id, true)}>
                    Download
                  </button>
                </li>
              )}
            </For>
          </ul>
        </Show>
        <Show when={testModels().length > 0}>
          <details class="test-models">
            <summary>Test models (random weights, for checking the pipeline)</summary>
            <ul class="first-run-models">
              <For each={testModels()}>
                {(m) => (
                  <li>
                    <div>
                      <strong>{shortModelName(m.name)}</strong>
                      <span class="muted"> — {size(m)}</span>
                      <p class="badge badge-warn">
                        Random weights: checks that everything runs, offline. Its answers are noise.
                      </p>
                    </div>
                    <button type="button" class="button" onClick={() => finish(m.id, true)}>
                      Load test model
                    </button>
                  </li>
                )}
              </For>
            </ul>
          </details>
        </Show>
        <div class="first-run-actions">
          <button type="button" class="button" onClick={() => finish(null, true)}>
            Choose later
          </button>
        </div>
      </section>
    </div>
  );
}
