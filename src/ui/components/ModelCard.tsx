// Owns one model in the panel: what it is, how big, whether it is on this device, and load/download/verify/delete.
import { Show, type JSX } from 'solid-js';
import type { ModelRef } from '../../shared/protocol';
import { isMicroModelId } from '../../store/catalog';
import { formatBytes, shortModelName } from '../lib/format';
import { useEngine } from '../stores/engine-store';
import { useModels, type CachedModel, type CatalogModel } from '../stores/model-store';
import { useSettings } from '../stores/settings-store';
import { ProgressBar } from './ProgressBar';
import { RenameModel } from './RenameModel';

/** Where an added model comes from, as the user would type it. */
function addressOf(ref: ModelRef): string {
  if (ref.kind === 'url') return ref.baseUrl;
  if (ref.kind === 'local') return ref.id;
  const at = ref.revision === undefined ? '' : ` @ ${ref.revision}`;
  return `${ref.endpoint ?? 'https://huggingface.co'}/${ref.repo}${at}`;
}

export function ModelCard(props: {
  entry?: CatalogModel | undefined;
  cached?: CachedModel | undefined;
}): JSX.Element {
  const models = useModels();
  const engine = useEngine();
  const { settings } = useSettings();
  const id = () => props.entry?.id ?? props.cached?.id ?? '';
  const name = () => props.entry?.name ?? props.cached?.label ?? id();
  const loaded = () => engine.status()?.model?.id === id();
  const loading = () => {
    const l = engine.load.current;
    return (
      l?.modelId === id() && (l.phase === 'downloading' || l.phase === 'verifying' || l.phase === 'starting')
    );
  };
  const action = () =>
    loaded()
      ? 'Loaded'
      : props.cached?.complete
        ? 'Load'
        : props.cached
          ? 'Resume download'
          : // The app serves its built-in models itself: nothing comes from the network.
            props.entry?.bundled
            ? 'Load'
            : 'Download and load';

  return (
    <li
      class="model-card"
      classList={{ chosen: settings.modelId === id(), loaded: loaded() }}
      aria-label={name()}
    >
      <div class="model-card-head">
        <h4>{props.entry?.randomWeights ? shortModelName(name()) : name()}</h4>
        <Show when={props.entry?.randomWeights}>
          <span class="badge badge-warn">
            Random weights — answers are noise; for checking the pipeline offline
          </span>
        </Show>
        <Show when={props.entry?.bundled}>
          <span class="badge">Served by this app</span>
        </Show>
        <Show when={!props.entry}>
          <span class="badge">{isMicroModelId(id()) ? 'Trained in this browser' : 'Imported folder'}</span>
        </Show>
        <Show when={props.entry?.added}>
          <span class="badge badge-added">Added by you</span>
        </Show>
        <Show when={props.entry?.checkedAgainstPublishedFiles}>
          <span
            class="badge"
            title="The engine was run on a replica of this repository's published config, tokenizer and template"
          >
            checked against published files
          </span>
        </Show>
        <Show when={props.entry?.unverified}>
          <span class="badge badge-muted" title="Sizes or files not checked against the repository">
            unverified
          </span>
        </Show>
      </div>
      <Show when={props.entry?.description}>
        <p class="model-desc">{props.entry?.description}</p>
      </Show>
      <Show when={props.entry?.added && props.entry.ref}>
        {(ref) => (
          <p class="model-desc model-address">
            <code>{addressOf(ref())}</code>
          </p>
        )}
      </Show>
      <p class="model-facts">
        <Show when={props.entry}>
          {(e) => (
            <>
              <Show when={!(e().added && props.cached?.complete)}>
                <span>
                  Download{' '}
                  {e().downloadBytes !== null
                    ? formatBytes(e().downloadBytes ?? 0)
                    : e().added
                      ? 'size known once its files are listed'
                      : 'size unknown'}
                </span>
              </Show>
              <Show when={e().gpuMemoryBytes}>
                {(g) => <span>needs ~{formatBytes(g())} of GPU memory</span>}
              </Show>
            </>
          )}
        </Show>
        <Show when={props.cached}>
          {(c) => (
            <span class="model-cached">
              {c().complete
                ? `On this device (${formatBytes(c().bytes)})`
                : `Partly downloaded (${formatBytes(c().bytes)})`}
            </span>
          )}
        </Show>
      </p>
      <Show when={loading() ? engine.load.current : null}>
        {(l) => (
          <div class="model-progress">
            <ProgressBar
              label={`Download of ${name()}`}
              loaded={l().loaded}
              total={l().total}
              valueText={
                l().total > 0 ? `${formatBytes(l().loaded)} of ${formatBytes(l().total)}` : 'starting'
              }
            />
            <span class="small muted">
              {l().phase === 'starting'
                ? 'Starting the model…'
                : l().total > 0
                  ? `${formatBytes(l().loaded)} of ${formatBytes(l().total)}`
                  : 'Listing its files…'}
            </span>
          </div>
        )}
      </Show>
      <div class="model-actions">
        <button
          type="button"
          class="button primary"
          disabled={loaded() || loading() || models.busy() !== null}
          onClick={() => void models.load(id())}
        >
          {loading() ? 'Loading…' : action()}
        </button>
        <Show when={props.entry?.added}>
          <button
            type="button"
            class="button"
            disabled={models.busy() !== null || loading()}
            title="Take it off the list (and delete what was downloaded of it)"
            onClick={() => void models.forgetModel(id())}
          >
            Remove from list
          </button>
        </Show>
        <Show when={!props.entry && props.cached}>
          <RenameModel id={id()} name={name()} disabled={models.busy() !== null || loading()} />
        </Show>
        <Show when={props.cached}>
          <button
            type="button"
            class="button"
            disabled={models.busy() !== null || loading()}
            onClick={() => void models.verify(id())}
          >
            Verify
          </button>
          <button
            type="button"
            class="button danger"
            disabled={models.busy() !== null || loading()}
            onClick={() => void models.remove(id())}
          >
            Delete
          </button>
        </Show>
      </div>
    </li>
  );
}
