// Owns the model panel's state: the catalog, what is cached, storage used/free, which model is chosen, and
// loading it when a chat needs it. Storage goes through the WeightsApi port, the engine through the engine store.
import { createSignal } from 'solid-js';
import { isAbortError } from '../../shared/abort';
import { errorMessage } from '../../shared/errors';
import type { DtypeChoice, LoadProgressEvent, ModelRef } from '../../shared/protocol';
import type { AddedModel } from '../lib/model-address';
import type { EngineStore } from './engine-store';
import type { NoticeStore } from './notice-store';
import type { SettingsStore } from './settings-store';
import { storeContext } from './store-context';

/** A model the app offers (catalog data lives in src/store; this is the UI's view of an entry). */
export interface CatalogModel {
  id: string;
  name: string;
  description: string;
  ref: ModelRef;
  /** Bytes to download for the recommended dtype; null when unknown. */
  downloadBytes: number | null;
  /** GPU memory the model needs once loaded, roughly; null when unknown. */
  gpuMemoryBytes: number | null;
  /** Precisions for an adapter with shader-f16. */
  dtype?: DtypeChoice;
  /** Precisions for adapters without shader-f16 and for WASM. */
  fallbackDtype?: DtypeChoice;
  /** Seeded random weights: it proves the pipeline runs, its answers are noise. */
  randomWeights: boolean;
  /** Served by this app itself (works with no network at all). */
  bundled: boolean;
  /** Sizes or files not checked against the real repository. */
  unverified: boolean;
  /** The engine was run on a replica of the repository's published files (config, tokenizer, template). */
  checkedAgainstPublishedFiles?: boolean;
  /** Added by the user by address (hub repo or folder URL); its size is known once the download lists its files. */
  added?: boolean;
}

/** A model with no ready-made browser export: the commands that convert it, then a folder import. */
export interface RecipeModel {
  id: string;
  name: string;
  description: string;
  /** Hub repo of the checkpoint the commands download. */
  sourceRepo: string;
  /** Shell commands, in order, run in a checkout of this project. */
  commands: string[];
  /** The folder the last command writes: the one to import. */
  outputFolder: string;
  downloadBytes: number;
  outputBytes: number;
  gpuMemoryBytes: number;
}

export interface CachedModel {
  id: string;
  label: string;
  ref: ModelRef;
  bytes: number;
  complete: boolean;
}

export interface StorageInfo {
  usage: number;
  quota: number;
  persisted: boolean;
}

/** What the UI needs from the weight store. */
export interface WeightsApi {
  catalog(): Promise<CatalogModel[]>;
  listCached(): Promise<CachedModel[]>;
  remove(id: string): Promise<void>;
  /** Gives a stored model a new name. */
  rename(id: string, label: string): Promise<void>;
  /** Re-hashes a cached model's files; resolves with the files that failed (and were dropped). */
  verify(id: string, signal?: AbortSignal): Promise<string[]>;
  /** Stores a model folder the user picked or dropped; resolves with its ref. */
  importFolder(
    files: File[],
    op: { signal?: AbortSignal; onEvent?: (e: LoadProgressEvent) => void },
  ): Promise<{ id: string; ref: ModelRef; label: string }>;
  estimate(): Promise<StorageInfo | null>;
  /** Models to convert yourself (no browser export exists), then import as a folder. */
  recipes(): RecipeModel[];
}

export interface ModelDeps {
  weights: WeightsApi;
  /** Whether this browser's GPU can run 16-bit float shaders (decides recommended vs fallback precisions). */
  hasShaderF16: () => Promise<boolean>;
  engine: EngineStore;
  settings: SettingsStore;
  notices: NoticeStore;
}

/** An added model as the panel lists it: nothing is known about its size until its files are listed. */
function addedEntry(model: AddedModel): CatalogModel {
  return {
    id: model.id,
    name: model.name,
    description: '',
    // A plain copy: the settings hold it in a store proxy, which cannot be posted to the engine worker.
    ref: { ...model.ref },
    downloadBytes: null,
    gpuMemoryBytes: null,
    randomWeights: false,
    bundled: false,
    unverified: false,
    added: true,
  };
}

/** The KV cache budget in bytes, from the settings' MiB. */
export function kvBudgetBytes(settings: SettingsStore): number {
  return settings.settings.kvCacheMiB * 1024 * 1024;
}

export function createModelStore(deps: ModelDeps) {
  const { weights, engine, settings, notices } = deps;
  const [cached, setCached] = createSignal<CachedModel[]>([]);
  const [storage, setStorage] = createSignal<StorageInfo | null>(null);
  const [busy, setBusy] = createSignal<string | null>(null);
  const [panelOpen, setPanelOpen] = createSignal(false);
  const [builtIn, setBuiltIn] = createSignal<CatalogModel[]>([]);
  // False until the catalog and the cache list have been read once: screens that depend on them (the first-run
  // dialog) wait, instead of showing empty and then growing under the user's eyes.
  const [ready, setReady] = createSignal(false);
  // A memo would need a reactive root (the stores are made before render): keep the last result by its inputs, so
  // the list keeps its entries' identity (and the panel its cards) until the inputs change.
  let last: { base: CatalogModel[]; added: AddedModel[]; all: CatalogModel[] } | undefined;
  /** The app's catalog, then the models the user added by address. */
  const catalog = (): CatalogModel[] => {
    const base = builtIn();
    const added = settings.settings.addedModels;
    if (last?.base !== base || last.added !== added) {
      const extra = added.filter((m) => !base.some((e) => e.id === m.id)).map(addedEntry);
      last = { base, added, all: [...base, ...extra] };
    }
    return last.all;
  };

  /** A model by id: from the catalog, else an imported one. */
  function find(
    id: string,
  ):
    | { id: string; name: string; ref: ModelRef; dtype?: DtypeChoice; fallbackDtype?: DtypeChoice }
    | undefined {
    const entry = catalog().find((m) => m.id === id);
    if (entry) return entry;
    const local = cached().find((m) => m.id === id);
    return local ? { id: local.id, name: local.label, ref: local.ref } : undefined;
  }

  async function refresh(): Promise<void> {
    const [entries, list, est] = await Promise.all([
      weights.catalog().catch(() => []),
      weights.listCached().catch(() => []),
      weights.estimate().catch(() => null),
    ]);
    setBuiltIn(entries);
    setCached(list);
    setStorage(est);
    setReady(true);
  }

  async function dtypeFor(model: {
    dtype?: DtypeChoice;
    fallbackDtype?: DtypeChoice;
  }): Promise<DtypeChoice | undefined> {
    if (model.fallbackDtype === undefined) return model.dtype;
    if (settings.settings.device === 'wasm') return model.fallbackDtype;
    return (await deps.hasShaderF16()) ? model.dtype : model.fallbackDtype;
  }

  // Red notices of failed loads; a model that then loads takes them away (they are about the past).
  let failureNotices: number[] = [];

  /**
   * Downloads (when needed) and loads a model; it becomes the chosen one. A failure is said once: on the download card
   * when the model panel is open, in the answer when `quiet` (a Send), else in a notice.
   */
  async function load(id: string, options: { quiet?: boolean } = {}): Promise<boolean> {
    const model = find(id);
    if (!model) {
      notices.error('That model is not in the catalog or the cache any more.');
      return false;
    }
    settings.update({ modelId: id });
    const device = settings.settings.device;
    const kvCacheBudgetBytes = kvBudgetBytes(settings);
    try {
      const dtype = await dtypeFor(model);
      await engine.loadModel(
        model.ref,
        model.id,
        model.name,
        dtype === undefined ? { device, kvCacheBudgetBytes } : { device, dtype, kvCacheBudgetBytes },
      );
      for (const notice of failureNotices) notices.dismiss(notice);
      failureNotices = [];
      return true;
    } catch (error) {
      if (!isAbortError(error) && !options.quiet && !panelOpen())
        failureNotices.push(notices.error(errorMessage(error)));
      // The model loaded before still runs: it stays the chosen one, so that Send uses what works.
      const still = (await engine.refresh().catch(() => null))?.model;
      if (still && still.id !== id) settings.update({ modelId: still.id });
      return false;
    } finally {
      void refresh();
    }
  }

  /** For a chat: the chosen model loaded, loading it first if needed. */
  async function ensureModel(): Promise<true | { code: string; message: string }> {
    const wanted = settings.settings.modelId;
    const status = engine.status() ?? (await engine.refresh().catch(() => null));
    // After a GPU device loss the engine reloads the same model by itself on the next chat (WASM if it keeps failing).
    if (status?.model && (wanted === null || status.model.id === wanted)) return true;
    if (wanted === null) {
      setPanelOpen(true);
      return {
        code: 'model-not-loaded',
        message: 'Choose a model first (model panel), then press Regenerate.',
      };
    }
    if (await load(wanted, { quiet: true })) return true;
    const failed = engine.load.current;
    if (failed?.phase === 'cancelled')
      return { code: 'aborted', message: 'Loading the model was cancelled.' };
    return { code: 'model-not-loaded', message: failed?.error ?? 'The model could not be loaded.' };
  }

  /**
   * When the app opens, with "Load the last model when the app opens" on: loads the chosen model if it is already on
   * this device (stored, or served by the app itself). It never starts a download nobody asked for.
   */
  async function loadOnStart(): Promise<void> {
    const id = settings.settings.modelId;
    if (!settings.settings.loadModelOnStart || id === null) return;
    if (engine.status()?.model || engine.load.current) return;
    const onDevice =
      cached().some((c) => c.id === id && c.complete) || catalog().some((m) => m.id === id && m.bundled);
    if (onDevice) await load(id);
  }

  async function remove(id: string): Promise<void> {
    setBusy(id);
    try {
      if (engine.status()?.model?.id === id) await engine.unload();
      await weights.remove(id);
      if (settings.settings.modelId === id) settings.update({ modelId: null });
      notices.info('The model was deleted from this device.');
    } catch (error) {
      notices.error(errorMessage(error));
    } finally {
      setBusy(null);
      await refresh();
    }
  }

  async function rename(id: string, label: string): Promise<void> {
    try {
      await weights.rename(id, label);
    } catch (error) {
      notices.error(errorMessage(error));
    } finally {
      await refresh();
    }
  }

  async function verify(id: string): Promise<void> {
    setBusy(id);
    try {
      const bad = await weights.verify(id);
      if (bad.length === 0) notices.info('Every file matched its checksum.');
      else
        notices.warn(
          `${bad.length} file(s) were damaged and removed: ${bad.join(', ')}. Download the model again.`,
        );
    } catch (error) {
      notices.error(errorMessage(error));
    } finally {
      setBusy(null);
      await refresh();
    }
  }

  async function importFolder(files: File[]): Promise<void> {
    if (files.length === 0) return;
    setBusy('import');
    try {
      const model = await weights.importFolder(files, {});
      notices.info(`Imported “${model.label}”.`);
      await refresh();
      await load(model.id);
    } catch (error) {
      if (!isAbortError(error)) notices.error(errorMessage(error));
    } finally {
      setBusy(null);
      await refresh();
    }
  }

  /** Adds a model by address; resolves with why not when it is already listed. */
  function addModel(model: AddedModel): string | null {
    const existing = catalog().find((m) => m.id === model.id);
    if (existing) return `“${existing.name}” is already in the list.`;
    settings.update({ addedModels: [...settings.settings.addedModels, model] });
    notices.info(`Added “${model.name}”. Press “Download and load” to fetch it.`);
    return null;
  }

  /** Takes an added model off the list, deleting what was downloaded of it. */
  async function forgetModel(id: string): Promise<void> {
    if (cached().some((c) => c.id === id)) await remove(id);
    else if (settings.settings.modelId === id) settings.update({ modelId: null });
    settings.update({ addedModels: settings.settings.addedModels.filter((m) => m.id !== id) });
  }

  return {
    ready,
    catalog,
    recipes: () => weights.recipes(),
    addModel,
    forgetModel,
    cached,
    storage,
    busy,
    panelOpen,
    setPanelOpen,
    refresh,
    load,
    ensureModel,
    loadOnStart,
    remove,
    rename,
    verify,
    importFolder,
    find,
  };
}

export type ModelStore = ReturnType<typeof createModelStore>;

export const [ModelContext, useModels] = storeContext<ModelStore>('useModels', 'ModelContext');
