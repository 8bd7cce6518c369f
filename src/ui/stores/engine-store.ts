// Owns the engine as the UI sees it: which model is loaded, on which backend, and the progress of loading one.
// It talks to the engine only through the EngineApi handed to it (the engine client); it never touches ONNX.
import { createSignal } from 'solid-js';
import { createStore, reconcile } from 'solid-js/store';
import { isAbortError } from '../../shared/abort';
import { errorMessage } from '../../shared/errors';
import type { EngineStatus, LoadOptions, LoadProgressEvent, ModelRef } from '../../shared/protocol';
import type { EngineClient } from '../../client/engine-client';
import type { NoticeStore } from './notice-store';
import { storeContext } from './store-context';

export interface FileProgress {
  file: string;
  loaded: number;
  total: number;
  state: 'downloading' | 'done' | 'verified' | 'session';
}

export interface LoadState {
  modelId: string;
  label: string;
  phase: 'downloading' | 'verifying' | 'starting' | 'ready' | 'failed' | 'cancelled';
  files: FileProgress[];
  loaded: number;
  total: number;
  bytesPerS: number | undefined;
  etaS: number | undefined;
  error?: string;
}

export function createEngineStore(connect: () => EngineClient, notices: NoticeStore) {
  let api: EngineClient | undefined;
  const engine = (): EngineClient => {
    if (api) return api;
    api = connect();
    api.onNotice((notice) => {
      if (notice.kind === 'device-lost') {
        markDeviceLost();
        notices.warn(
          `${notice.message} Your conversation is kept; the model is loaded again for the next answer.`,
        );
      } else {
        setStatus(null);
        notices.warn(
          `The engine restarted (${notice.reason}). Your conversation is kept; the model is loaded again for the next answer.`,
        );
      }
    });
    return api;
  };

  const [status, setStatus] = createSignal<EngineStatus | null>(null);
  const [load, setLoad] = createStore<{ current: LoadState | null }>({ current: null });
  let loading: { controller: AbortController; promise: Promise<EngineStatus> } | undefined;

  async function refresh(): Promise<EngineStatus> {
    const s = await engine().status();
    setStatus(s);
    return s;
  }

  function applyProgress(state: LoadState, event: LoadProgressEvent): LoadState {
    const files = state.files.slice();
    if (event.kind !== 'ready') {
      const i = files.findIndex((f) => f.file === event.file);
      const known = i >= 0 ? files[i] : undefined;
      // A session event counts the sessions' bytes, not this file's: a file already listed keeps its own size.
      const sizes =
        event.kind === 'session' && known
          ? { loaded: known.loaded, total: known.total }
          : { loaded: event.loaded, total: event.total };
      const next: FileProgress = {
        file: event.file,
        ...sizes,
        state:
          event.kind === 'file-done'
            ? 'done'
            : event.kind === 'verified'
              ? 'verified'
              : event.kind === 'session'
                ? 'session'
                : 'downloading',
      };
      if (i >= 0) files[i] = next;
      else files.push(next);
    }
    // Every download event carries the whole download's bytes, rate and ETA (the store's one rate meter, re-fetched
    // bytes included). Session events only say which graph is being instantiated: they leave the byte counts alone.
    const overall = 'overall' in event ? event.overall : undefined;
    const total = overall?.total ?? state.total;
    const loaded = event.kind === 'ready' ? total : (overall?.loaded ?? state.loaded);
    const phase: LoadState['phase'] =
      event.kind === 'ready'
        ? 'ready'
        : event.kind === 'session'
          ? 'starting'
          : event.kind === 'verified'
            ? 'verifying'
            : 'downloading';
    return {
      ...state,
      files,
      loaded,
      total,
      phase,
      bytesPerS: overall?.bytesPerS,
      etaS: overall?.etaS,
    };
  }

  /**
   * Downloads (if needed) and loads a model, keeping progress in `load.current`.
   * Rejects with the engine's EngineError, or an AbortError when cancelled.
   */
  function loadModel(
    ref: ModelRef,
    modelId: string,
    label: string,
    options: LoadOptions,
  ): Promise<EngineStatus> {
    loading?.controller.abort();
    const controller = new AbortController();
    let state: LoadState = {
      modelId,
      label,
      phase: 'downloading',
      files: [],
      loaded: 0,
      total: 0,
      bytesPerS: undefined,
      etaS: undefined,
    };
    setLoad('current', reconcile(state));
    const promise = engine()
      .load(ref, options, {
        signal: controller.signal,
        onEvent: (event) => {
          state = applyProgress(state, event);
          setLoad('current', reconcile(state));
        },
      })
      .then(
        (s) => {
          setStatus(s);
          setLoad('current', reconcile({ ...state, phase: 'ready' as const }));
          return s;
        },
        (error: unknown) => {
          const cancelled = isAbortError(error);
          const message = errorMessage(error);
          setLoad(
            'current',
            reconcile({
              ...state,
              phase: cancelled ? ('cancelled' as const) : ('failed' as const),
              error: message,
            }),
          );
          void refresh().catch(() => undefined);
          throw error;
        },
      )
      .finally(() => {
        if (loading?.controller === controller) loading = undefined;
      });
    loading = { controller, promise };
    return promise;
  }

  function cancelLoad(): void {
    loading?.controller.abort();
  }

  function dismissLoad(): void {
    if (!loading) setLoad('current', null);
  }

  async function unload(): Promise<void> {
    await engine().unload();
    await refresh();
  }

  /** Called on a `device-lost` notice: the engine reloads by itself on the next chat; show what it reports now. */
  function markDeviceLost(): void {
    void refresh().catch(() => undefined);
  }

  return {
    engine,
    status,
    load,
    refresh,
    loadModel,
    cancelLoad,
    dismissLoad,
    unload,
    markDeviceLost,
  };
}

export type EngineStore = ReturnType<typeof createEngineStore>;

export const [EngineContext, useEngine] = storeContext<EngineStore>('useEngine', 'EngineContext');
