// Owns the list of models: the catalog (test models folded away), models added by address, imported folders, importing a model folder from
// disk, and the convert-it-yourself recipes that end in that import.
import { For, Show, type JSX } from 'solid-js';
import { useModels } from '../stores/model-store';
import { useSettings } from '../stores/settings-store';
import { AddModelForm } from './AddModelForm';
import { BrowserConversions } from './BrowserConversions';
import { ConvertRecipes } from './ConvertRecipes';
import { Icon } from './Icon';
import { ModelCard } from './ModelCard';

export function ModelCatalog(): JSX.Element {
  const models = useModels();
  let folder!: HTMLInputElement;
  const { settings } = useSettings();
  const testModels = () => models.catalog().filter((e) => e.randomWeights);
  const imported = () => models.cached().filter((c) => !models.catalog().some((e) => e.id === c.id));
  return (
    <>
      <section class="catalog" aria-labelledby="catalog-title">
        <h3 id="catalog-title">Models</h3>
        <ul class="model-list">
          <For each={models.catalog().filter((e) => !e.randomWeights)}>
            {(entry) => <ModelCard entry={entry} cached={models.cached().find((c) => c.id === entry.id)} />}
          </For>
          <For each={imported()}>{(c) => <ModelCard cached={c} />}</For>
        </ul>
        <Show when={testModels().length > 0}>
          <details class="test-models" open={testModels().some((e) => e.id === settings.modelId)}>
            <summary>Test models (random weights, for checking the pipeline)</summary>
            <ul class="model-list">
              <For each={testModels()}>
                {(entry) => (
                  <ModelCard entry={entry} cached={models.cached().find((c) => c.id === entry.id)} />
                )}
              </For>
            </ul>
          </details>
        </Show>
        <AddModelForm />
        <input
          ref={(el) => {
            folder = el;
            // Not in the TS DOM typings' JSX attributes; the property is what browsers read.
            el.webkitdirectory = true;
          }}
          id="import-model-folder"
          type="file"
          multiple
          class="visually-hidden"
          tabindex="-1"
          aria-hidden="true"
          onChange={(e) => {
            const files = [...(e.currentTarget.files ?? [])];
            e.currentTarget.value = '';
            void models.importFolder(files);
          }}
        />
        <button type="button" class="button" disabled={models.busy() !== null} onClick={() => folder.click()}>
          <Icon name="folder" size={16} /> Import a model folder from disk…
        </button>
        <p class="muted small">
          A folder in the transformers.js layout (config.json, tokenizer files, onnx/*.onnx). It is copied
          into this browser’s storage; no network needed.
        </p>
      </section>
      <BrowserConversions />
      <ConvertRecipes onImport={() => folder.click()} />
    </>
  );
}
