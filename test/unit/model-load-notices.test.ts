// A model that fails to load is said once, and not after another model loaded: the app's model store and engine
// store, driven through a scripted engine client (these tests are about what the UI says, not about inference).
import { createRoot } from 'solid-js';
import { describe, expect, it } from 'vitest';
import { EngineError } from '../../src/shared/errors';
import type { EngineStatus, ModelRef } from '../../src/shared/protocol';
import type { EngineClient } from '../../src/client/engine-client';
import { createEngineStore } from '../../src/ui/stores/engine-store';
import { createModelStore, type CatalogModel } from '../../src/ui/stores/model-store';
import { createNoticeStore } from '../../src/ui/stores/notice-store';
import { createSettingsStore } from '../../src/ui/stores/settings-store';

const entry = (id: string, ref: ModelRef): CatalogModel => ({
  id,
  name: id,
  description: '',
  ref,
  downloadBytes: null,
  gpuMemoryBytes: null,
  randomWeights: false,
  bundled: false,
  unverified: false,
});
const HUB = entry('hub-model', { kind: 'hub', repo: 'org/model', revision: 'main' });
const LOCAL = entry('local-model', { kind: 'url', baseUrl: 'http://localhost/m/', id: 'local-model' });

function setup() {
  let loaded: EngineStatus['model'] = null;
  const status = (): EngineStatus => ({
    backend: 'wasm',
    adapter: null,
    shaderF16: false,
    crossOriginIsolated: true,
    threads: 1,
    model: loaded,
    memoryEstimateBytes: 0,
  });
  const client = {
    onNotice: () => () => undefined,
    status: () => Promise.resolve(status()),
    unload: () => Promise.resolve(),
    load: (ref: ModelRef) => {
      if (ref.kind === 'hub')
        return Promise.reject(
          new EngineError(
            'download-failed',
            'This device is offline, so the file list could not be downloaded.',
          ),
        );
      loaded = { id: LOCAL.id, dtype: {} as never, maxImages: 1, contextLength: 512 };
      return Promise.resolve(status());
    },
  } as unknown as EngineClient;
  const memory = new Map<string, string>();
  const storage = {
    getItem: (k: string) => memory.get(k) ?? null,
    setItem: (k: string, v: string) => void memory.set(k, v),
  } as Storage;
  return createRoot(() => {
    const notices = createNoticeStore();
    const engine = createEngineStore(() => client, notices);
    const settings = createSettingsStore(storage);
    const models = createModelStore({
      weights: {
        catalog: () => Promise.resolve([HUB, LOCAL]),
        listCached: () => Promise.resolve([]),
        estimate: () => Promise.resolve(null),
      } as never,
      hasShaderF16: () => Promise.resolve(false),
      engine,
      settings,
      notices,
    });
    return { notices, engine, settings, models };
  });
}

const errors = (s: ReturnType<typeof setup>) => s.notices.notices.filter((n) => n.kind === 'error');

describe('a model that fails to load', () => {
  it('is said in one notice, which goes once another model loads; the working model stays chosen', async () => {
    const s = setup();
    await s.models.refresh();
    expect(await s.models.load(LOCAL.id)).toBe(true);
    expect(await s.models.load(HUB.id)).toBe(false);
    expect(errors(s).map((n) => n.text)).toEqual([
      'This device is offline, so the file list could not be downloaded.',
    ]);
    // The model that still runs is what Send uses.
    expect(s.settings.settings.modelId).toBe(LOCAL.id);
    expect(await s.models.load(LOCAL.id)).toBe(true);
    expect(errors(s)).toEqual([]);
  });

  it('is left to the download card while the model panel is open, and to the answer after a Send', async () => {
    const s = setup();
    await s.models.refresh();
    s.models.setPanelOpen(true);
    expect(await s.models.load(HUB.id)).toBe(false);
    expect(s.engine.load.current?.error).toContain('offline');
    expect(errors(s)).toEqual([]);
    s.models.setPanelOpen(false);
    s.settings.update({ modelId: HUB.id });
    const outcome = await s.models.ensureModel();
    expect(outcome).toMatchObject({ code: 'model-not-loaded', message: expect.stringContaining('offline') });
    expect(errors(s)).toEqual([]);
  });
});
