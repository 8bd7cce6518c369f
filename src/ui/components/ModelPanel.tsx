// Owns the model panel: engine/backend facts, download progress, the catalog, storage, and settings.
import { onMount, type JSX } from 'solid-js';
import { useModels } from '../stores/model-store';
import { BackendInfo } from './BackendInfo';
import { DownloadProgress } from './DownloadProgress';
import { Icon } from './Icon';
import { ModelCatalog } from './ModelCatalog';
import { SettingsForm } from './SettingsForm';
import { StorageInfo } from './StorageInfo';
import { TrainingLink } from './TrainingLink';

export function ModelPanel(props: { onClose: () => void }): JSX.Element {
  const models = useModels();
  let heading!: HTMLHeadingElement;
  onMount(() => {
    void models.refresh();
    heading.focus();
  });
  return (
    <aside
      class="model-panel"
      aria-labelledby="model-panel-title"
      onKeyDown={(e) => {
        if (e.key === 'Escape') {
          e.stopPropagation();
          props.onClose();
        }
      }}
    >
      <div class="panel-head">
        <h2 id="model-panel-title" ref={heading} tabindex="-1">
          Model and settings
        </h2>
        <button
          type="button"
          class="icon-button"
          aria-label="Close the model panel"
          onClick={() => props.onClose()}
        >
          <Icon name="close" />
        </button>
      </div>
      <DownloadProgress />
      <BackendInfo />
      <ModelCatalog />
      <StorageInfo />
      <SettingsForm />
      <TrainingLink />
    </aside>
  );
}
