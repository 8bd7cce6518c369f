// Owns showing how much browser storage the app uses and how much is free.
import { Show, type JSX } from 'solid-js';
import { formatBytes } from '../lib/format';
import { useModels } from '../stores/model-store';
import { ProgressBar } from './ProgressBar';

export function StorageInfo(): JSX.Element {
  const models = useModels();
  return (
    <section class="storage" aria-labelledby="storage-title">
      <h3 id="storage-title">Storage on this device</h3>
      <Show when={models.storage()} fallback={<p class="muted">This browser does not report its storage.</p>}>
        {(s) => (
          <>
            <ProgressBar
              label="Storage used"
              loaded={s().usage}
              total={s().quota}
              valueText={`${formatBytes(s().usage)} used of ${formatBytes(s().quota)}`}
            />
            <p>
              {formatBytes(s().usage)} used · {formatBytes(Math.max(0, s().quota - s().usage))} free
              {s().persisted
                ? ' · kept by the browser (persistent)'
                : ' · the browser may clear it when space runs low'}
            </p>
          </>
        )}
      </Show>
    </section>
  );
}
