// Owns the top bar: chats toggle, the app's name, new chat, settings, and the model button showing what is loaded
// and where.
import { Show, type JSX } from 'solid-js';
import { shortModelName } from '../lib/format';
import { useEngine } from '../stores/engine-store';
import { useModels } from '../stores/model-store';
import { usePwa } from '../stores/pwa-store';
import { useSettings } from '../stores/settings-store';
import { Icon } from './Icon';

export function Header(props: {
  sidebarOpen: boolean;
  onToggleSidebar: () => void;
  onNewChat: () => void;
  onOpenSettings: () => void;
}): JSX.Element {
  const engine = useEngine();
  const models = useModels();
  const pwa = usePwa();
  const { settings } = useSettings();
  // The bar shows the short name; the panel shows the whole label with its explanation.
  const short = shortModelName;
  const modelLabel = () => {
    const s = engine.status();
    const load = engine.load.current;
    if (load && (load.phase === 'downloading' || load.phase === 'verifying' || load.phase === 'starting'))
      return `Loading ${short(load.label)}…`;
    if (s?.model) return short(models.find(s.model.id)?.name ?? s.model.id);
    // Until the model list is read, the chosen model's name is not known yet: say nothing wrong meanwhile.
    if (settings.modelId && !models.ready()) return 'Model';
    const chosen = settings.modelId ? models.find(settings.modelId)?.name : undefined;
    if (!chosen) return 'Choose a model';
    if (load?.phase === 'failed' && load.modelId === settings.modelId)
      return `${short(chosen)} · could not load`;
    // Say what Send will do rather than what is missing.
    return `${short(chosen)} · loads on Send`;
  };
  const modelHint = () => {
    if (engine.status()?.model || !settings.modelId) return undefined;
    return settings.loadModelOnStart
      ? 'The model loads when you send a message, or when the app opens (Settings).'
      : 'The model loads when you send a message. Settings → “Load the last model when the app opens” loads it at once.';
  };
  const random = () => {
    const id = engine.status()?.model?.id ?? settings.modelId;
    return id !== null && id !== undefined && models.catalog().some((m) => m.id === id && m.randomWeights);
  };
  const backend = () => {
    const b = engine.status()?.backend;
    return b === 'webgpu' ? 'WebGPU' : b === 'wasm' ? 'WASM' : b === 'cpu' ? 'CPU' : null;
  };
  return (
    <header class="app-header">
      <button
        type="button"
        class="icon-button"
        aria-label="Chats"
        aria-expanded={props.sidebarOpen}
        aria-controls="sidebar"
        onClick={() => props.onToggleSidebar()}
      >
        <Icon name="menu" />
      </button>
      <h1 class="app-title">
        LLaVA<span class="app-title-rest"> in the browser</span>
      </h1>
      <Show when={pwa.canInstall()}>
        <button
          type="button"
          class="button install-button"
          aria-label="Install"
          title="Install"
          onClick={() => void pwa.install()}
        >
          <Icon name="download" size={16} />
          <span class="install-label"> Install</span>
        </button>
      </Show>
      <button
        type="button"
        class="icon-button"
        aria-label="New chat"
        title="New chat"
        onClick={() => props.onNewChat()}
      >
        <Icon name="plus" />
      </button>
      <button
        type="button"
        class="icon-button settings-button"
        aria-label="Settings"
        aria-haspopup="dialog"
        title="Settings"
        onClick={() => props.onOpenSettings()}
      >
        <Icon name="settings" />
      </button>
      <button
        type="button"
        class="model-button"
        aria-expanded={models.panelOpen()}
        aria-controls="model-panel"
        title={modelHint()}
        onClick={() => models.setPanelOpen(!models.panelOpen())}
      >
        <Icon name="chip" size={18} />
        <span class="model-button-label">{modelLabel()}</span>
        <Show when={random()}>
          <span
            class="badge badge-warn badge-random"
            title="Random weights: for checking the pipeline; its answers are noise"
          >
            random<span class="badge-long"> weights</span>
          </span>
        </Show>
        <Show when={backend()}>{(b) => <span class="badge badge-backend">{b()}</span>}</Show>
      </button>
    </header>
  );
}
