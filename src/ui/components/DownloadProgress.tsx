// Owns showing a model download/load in progress: bytes, rate, ETA, per-file detail, and cancelling it.
import { For, Show, type JSX } from 'solid-js';
import { formatBytes, formatEta, formatRate, shortModelName } from '../lib/format';
import { useEngine } from '../stores/engine-store';
import { ProgressBar } from './ProgressBar';

const PHASES = {
  downloading: 'Downloading',
  verifying: 'Checking',
  starting: 'Starting the model',
  ready: 'Ready',
  failed: 'Failed',
  cancelled: 'Cancelled',
} as const;

const FILE_STATES = {
  downloading: 'downloading',
  done: 'downloaded',
  verified: 'checked',
  session: 'started on the device',
} as const;

export function DownloadProgress(): JSX.Element {
  const engine = useEngine();
  return (
    <Show when={engine.load.current}>
      {(load) => {
        const active = () => ['downloading', 'verifying', 'starting'].includes(load().phase);
        const summary = () => {
          if (load().total > 0) return `${formatBytes(load().loaded)} of ${formatBytes(load().total)}`;
          return load().phase === 'ready' || load().phase === 'starting'
            ? 'Already on this device'
            : formatBytes(load().loaded);
        };
        return (
          <section class="download" aria-labelledby="download-title" data-phase={load().phase}>
            <h3 id="download-title">
              {PHASES[load().phase]}: {shortModelName(load().label)}
            </h3>
            <ProgressBar
              label={`Progress of ${shortModelName(load().label)}`}
              loaded={load().phase === 'ready' ? 1 : load().loaded}
              total={load().phase === 'ready' ? 1 : load().total}
              valueText={summary()}
            />
            <p class="download-numbers" aria-live="off">
              <span>{summary()}</span>
              <Show when={active() && load().phase === 'downloading'}>
                <span>{formatRate(load().bytesPerS)}</span>
                <span>
                  {load().etaS === undefined ? 'estimating time…' : `${formatEta(load().etaS)} left`}
                </span>
              </Show>
            </p>
            <Show when={load().error}>
              {(e) => (
                <p class="download-error" role="alert">
                  {e()}
                </p>
              )}
            </Show>
            <Show when={load().files.length > 0}>
              <details class="download-files">
                <summary>{load().files.length} files</summary>
                <ul>
                  <For each={load().files}>
                    {(f) => (
                      <li>
                        <code>{f.file}</code> {formatBytes(f.loaded)}
                        {f.total > 0 ? ` / ${formatBytes(f.total)}` : ''} · {FILE_STATES[f.state]}
                      </li>
                    )}
                  </For>
                </ul>
              </details>
            </Show>
            <div class="download-actions">
              <Show
                when={active()}
                fallback={
                  <button type="button" class="button" onClick={() => engine.dismissLoad()}>
                    Dismiss
                  </button>
                }
              >
                <button type="button" class="button" onClick={() => engine.cancelLoad()}>
                  Cancel download
                </button>
              </Show>
            </div>
          </section>
        );
      }}
    </Show>
  );
}
