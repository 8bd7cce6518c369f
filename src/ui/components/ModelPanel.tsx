// Owns the model panel: engine/backend facts, download progress, the catalog and storage (settings have their own
// dialog, opened from the header).
import { onMount, type JSX } from 'solid-js';
import { useModels } from '../stores/model-store';
import { BackendInfo } from './BackendInfo';
import { DownloadProgress } from './DownloadProgress';
import { Icon } from './Icon';
import { ModelCatalog } from './ModelCatalog';
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
          Model
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
      <TrainingLink />
    </aside>
  );
}
