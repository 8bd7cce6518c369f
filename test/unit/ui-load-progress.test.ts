// The model panel's load progress: the bytes, rate and time left it shows are the store's own overall figures (one
// rate meter, in src/store/progress.ts), and instantiating sessions leaves them alone.
import { describe, expect, it } from 'vitest';
import type { EngineClient } from '../../src/client/engine-client';
import type { EngineStatus, LoadProgressEvent } from '../../src/shared/protocol';
import { createEngineStore } from '../../src/ui/stores/engine-store';
import { createNoticeStore } from '../../src/ui/stores/notice-store';

const STATUS = { loaded: false } as unknown as EngineStatus;

/** An engine client whose load replays `events` and then resolves; the store under test is the real one. */
function replaying(events: LoadProgressEvent[], seen: (state: unknown) => void, read: () => unknown) {
  const client = {
    onNotice: () => () => undefined,
    status: () => Promise.resolve(STATUS),
    load: (_ref: unknown, _options: unknown, op: { onEvent?: (e: LoadProgressEvent) => void }) => {
      for (const e of events) {
        op.onEvent?.(e);
        seen(structuredClone(read()));
      }
      return Promise.resolve(STATUS);
    },
  } as unknown as EngineClient;
  return client;
}

describe('load progress in the UI', () => {
  it('shows the overall bytes, rate and ETA the store reports; session events keep the byte counts', async () => {
    const overall = { loaded: 400, total: 1000, bytesPerS: 200, etaS: 3 };
    const events: LoadProgressEvent[] = [
      { kind: 'file-start', file: 'a', loaded: 0, total: 600, overall: { loaded: 0, total: 1000 } },
      { kind: 'file-progress', file: 'a', loaded: 400, total: 600, bytesPerS: 999, etaS: 9, overall },
      {
        kind: 'file-done',
        file: 'a',
        loaded: 600,
        total: 600,
        overall: { ...overall, loaded: 1000, etaS: 0 },
      },
      { kind: 'session', file: 'onnx/a.onnx', loaded: 5, total: 7 },
      { kind: 'ready', file: '', loaded: 0, total: 0 },
    ];
    const states: { loaded: number; total: number; bytesPerS?: number; etaS?: number; phase: string }[] = [];
    const holder: { store?: ReturnType<typeof createEngineStore> } = {};
    const client = replaying(
      events,
      (s) => states.push(s as (typeof states)[number]),
      () => holder.store?.load.current,
    );
    const store = (holder.store = createEngineStore(() => client, createNoticeStore()));
    await store.loadModel({ kind: 'local', id: 'm' }, 'm', 'M', {});
    expect(states.map((s) => [s.phase, s.loaded, s.total])).toEqual([
      ['downloading', 0, 1000],
      ['downloading', 400, 1000],
      ['downloading', 1000, 1000],
      ['starting', 1000, 1000],
      ['ready', 1000, 1000],
    ]);
    // The overall rate, not the file's own (999 B/s, 9 s).
    expect(states[1]).toMatchObject({ bytesPerS: 200, etaS: 3 });
    expect(states[0]?.bytesPerS).toBeUndefined();
  });
});
