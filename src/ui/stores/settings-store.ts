// Owns the user's generation settings and preferences, kept in localStorage. No engine calls, no IndexedDB.
import { createStore } from 'solid-js/store';
import type { BackendName, TemplateName } from '../../shared/protocol';
import { addedModelFromStored, type AddedModel } from '../lib/model-address';
import { storeContext } from './store-context';

export interface Settings {
  temperature: number;
  topP: number;
  maxNewTokens: number;
  systemPrompt: string;
  template: TemplateName;
  device: BackendName | 'auto';
  /** Catalog id of the model to load when the user sends a message. */
  modelId: string | null;
  /** The first-run screen was seen and dismissed. */
  welcomed: boolean;
  /**
   * MiB of KV cache the engine keeps between turns, so that a follow-up only prefills its new tokens. 0 keeps none
   * (every turn reads the whole conversation again); more keeps more conversations warm, in GPU or WASM memory.
   */
  kvCacheMiB: number;
  /**
   * Read the picture and the question while they are being written, so that the answer starts sooner once sent; it
   * costs GPU/CPU work while typing (and battery), so it can be turned off.
   */
  workAhead: boolean;
  /**
   * Load the chosen model (when it is on this device) as soon as the app opens, instead of on the first Send. Off by
   * default: opening the app to read or export a chat then costs no GPU memory or loading time.
   */
  loadModelOnStart: boolean;
  /** Models added by address (hub repo or folder URL), shown beside the catalog. */
  addedModels: AddedModel[];
  /** Colours: the system's choice, or always light / dark. */
  theme: Theme;
}

export type Theme = 'system' | 'light' | 'dark';

/** The engine's own default budget (src/engine: DEFAULT_KV_CACHE_BYTES), so that leaving it alone changes nothing. */
export const DEFAULT_KV_CACHE_MIB = 512;
export const MAX_KV_CACHE_MIB = 16384;

export const DEFAULT_SETTINGS: Settings = {
  temperature: 0.2,
  topP: 0.9,
  maxNewTokens: 512,
  systemPrompt: '',
  template: 'model',
  device: 'auto',
  modelId: null,
  welcomed: false,
  kvCacheMiB: DEFAULT_KV_CACHE_MIB,
  workAhead: true,
  loadModelOnStart: false,
  addedModels: [],
  theme: 'system',
};

const KEY = 'llava-browser:settings';

function clamp(value: unknown, min: number, max: number, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? Math.min(max, Math.max(min, value)) : fallback;
}

/** Added models from storage: each ref checked again, duplicates dropped. */
function readAddedModels(value: unknown): AddedModel[] {
  if (!Array.isArray(value)) return [];
  const out: AddedModel[] = [];
  for (const item of value) {
    const model = addedModelFromStored(
      typeof item === 'object' && item !== null ? (item as { ref?: unknown }).ref : null,
    );
    if (model && !out.some((m) => m.id === model.id)) out.push(model);
  }
  return out;
}

/** Settings from storage, each field checked; anything odd falls back to its default. */
export function readSettings(raw: string | null): Settings {
  let data: Record<string, unknown> = {};
  try {
    const parsed: unknown = raw === null ? {} : JSON.parse(raw);
    if (typeof parsed === 'object' && parsed !== null) data = parsed as Record<string, unknown>;
  } catch {
    // A damaged entry only costs the user their settings, never the app.
  }
  const d = DEFAULT_SETTINGS;
  const template = data.template;
  const device = data.device;
  return {
    temperature: clamp(data.temperature, 0, 2, d.temperature),
    topP: clamp(data.topP, 0.05, 1, d.topP),
    maxNewTokens: Math.round(clamp(data.maxNewTokens, 1, 4096, d.maxNewTokens)),
    systemPrompt: typeof data.systemPrompt === 'string' ? data.systemPrompt : d.systemPrompt,
    template:
      template === 'model' || template === 'vicuna_v1' || template === 'llava_v1' ? template : d.template,
    device: device === 'auto' || device === 'webgpu' || device === 'wasm' ? device : d.device,
    modelId: typeof data.modelId === 'string' ? data.modelId : null,
    welcomed: data.welcomed === true,
    kvCacheMiB: Math.round(clamp(data.kvCacheMiB, 0, MAX_KV_CACHE_MIB, d.kvCacheMiB)),
    workAhead: typeof data.workAhead === 'boolean' ? data.workAhead : d.workAhead,
    loadModelOnStart: data.loadModelOnStart === true,
    addedModels: readAddedModels(data.addedModels),
    theme: data.theme === 'light' || data.theme === 'dark' ? data.theme : d.theme,
  };
}

export function createSettingsStore(storage: Storage | undefined = globalThis.localStorage) {
  const [settings, setStore] = createStore<Settings>(readSettings(storage?.getItem(KEY) ?? null));
  const update = (patch: Partial<Settings>) => {
    setStore(patch);
    try {
      storage?.setItem(KEY, JSON.stringify({ ...settings }));
    } catch {
      // Storage full or blocked: the settings still apply for this visit.
    }
  };
  // Resetting the generation settings keeps what is not a preference: the chosen model and the added ones.
  const reset = () =>
    update({
      ...DEFAULT_SETTINGS,
      modelId: settings.modelId,
      welcomed: settings.welcomed,
      addedModels: settings.addedModels,
    });
  return { settings, update, reset };
}

export type SettingsStore = ReturnType<typeof createSettingsStore>;

export const [SettingsContext, useSettings] = storeContext<SettingsStore>('useSettings', 'SettingsContext');
