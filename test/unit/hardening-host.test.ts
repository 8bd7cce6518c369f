// The worker's engine host (workers/engine-host.ts) over the real engine on the CPU EP, with the GPU's fault reports
// played by a stand-in (the real device's are checked in Chromium by test/e2e/hardening-gpu.test.ts): an uncaptured
// GPU error stops a chat with 'inference-failed', a loss during a load rejects it with 'device-lost', an error
// during a load that seemed to succeed rejects it and puts the previous model back.
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { createEngine } from '../../src/engine/engine';
import type { OrtRuntime } from '../../src/engine/runtime';
import { folderSource } from '../../src/node/folder-source';
import { EngineError } from '../../src/shared/errors';
import type { ChatRequest, EngineApi, GenerationEvent, ModelRef } from '../../src/shared/protocol';
import { createEngineHost } from '../../workers/engine-host';
import type { DeviceLoss, GpuError, GpuFaultSource } from '../../workers/gpu-faults';
import { getTinyModel } from '../fixtures/tiny-model';
import { CPU_BACKEND } from './engine-helpers';

let dir: string;
beforeAll(() => {
  dir = getTinyModel('tiny').dir;
});

/** Stands in for the GPU's reports; `onSession` runs before each session the engine creates. */
function gpuStandIn() {
  const lost = new Set<(loss: DeviceLoss) => void>();
  const errors = new Set<(error: GpuError) => void>();
  let settles = 0;
  const faults: GpuFaultSource = {
    onDeviceLost: (l) => (lost.add(l), () => lost.delete(l)),
    onUncapturedError: (l) => (errors.add(l), () => errors.delete(l)),
    settle: async () => {
      settles++;
    },
  };
  return {
    faults,
    settles: () => settles,
    lose: (message: string) => lost.forEach((l) => l({ reason: 'unknown', message })),
    error: (message: string) => errors.forEach((l) => l({ kind: 'validation', message })),
    onSession: null as null | ((n: number) => void),
  };
}

/** The host over a real engine whose backend calls itself 'webgpu' (so the host treats it as on the GPU). */
function hosted() {
  const gpu = gpuStandIn();
  let sessions = 0;
  const runtime: OrtRuntime = {
    Tensor: ort.Tensor,
    InferenceSession: {
      create: ((...args: Parameters<typeof ort.InferenceSession.create>) => {
        sessions += 1;
        gpu.onSession?.(sessions);
        return ort.InferenceSession.create(...args);
      }) as typeof ort.InferenceSession.create,
    },
  };
  const engine = createEngine({
    ort: runtime,
    openSource: async (ref) => {
      const id = ref.kind === 'local' ? ref.id : 'x';
      if (id === 'offline') throw new EngineError('download-failed', 'The server could not be reached.');
      return folderSource(dir, id);
    },
    decodeImage: () => Promise.reject(new EngineError('bad-image', 'no files here')),
    selectBackend: async (requested) => ({ ...CPU_BACKEND, name: requested === 'wasm' ? 'wasm' : 'webgpu' }),
  });
  return { host: createEngineHost(engine, gpu.faults), gpu };
}

const ask = (conversationId: string, maxNewTokens = 8): ChatRequest => ({
  conversationId,
  messages: [{ role: 'user', content: 'What is in the picture?' }],
  sampling: { maxNewTokens, temperature: 0 },
});
const local = (id: string): ModelRef => ({ kind: 'local', id });

async function chatWith(host: EngineApi, request: ChatRequest, onToken?: () => void) {
  const events: GenerationEvent[] = [];
  const outcome = await host
    .chat(request, {
      onEvent: (e) => {
        events.push(e);
        if (e.kind === 'token') onToken?.();
      },
    })
    .then(
      (value) => ({ ok: true as const, value }),
      (error: unknown) => ({ ok: false as const, error }),
    );
  return { outcome, events };
}

describe('engine host: uncaptured GPU errors during a chat', () => {
  it("stop the chat with inference-failed, drop that conversation's cache, and the next chat answers", async () => {
    const { host, gpu } = hosted();
    await host.load(local('a'), { dtype: 'fp32' });
    const expected = await host.chat(ask('ref', 40));
    await host.chat(ask('c', 4));
    expect((await host.status()).cache?.conversations).toBe(2);

    let fired = false;
    const run = await chatWith(host, ask('c', 40), () => {
      if (fired) return;
      fired = true;
      gpu.error('Buffer usage MAP_READ | MAP_WRITE is invalid');
    });
    expect(run.outcome.ok).toBe(false);
    const error = run.outcome.ok ? null : run.outcome.error;
    expect(error).toMatchObject({
      name: 'EngineError',
      code: 'inference-failed',
      details: { gpuError: 'validation' },
    });
    expect((error as Error).message).toContain('MAP_READ | MAP_WRITE is invalid');
    expect((error as Error).message).toMatch(/Ask again/);
    const done = run.events.find((e) => e.kind === 'done');
    expect(done?.kind === 'done' && done.finishReason).toBe('abort');
    expect(done?.kind === 'done' && done.usage.completionTokens).toBeLessThan(40);
    expect((await host.status()).cache?.conversations).toBe(1);

    const again = await host.chat(ask('c', 40));
    expect(again.message.content).toBe(expected.message.content);
    expect(again.usage.reusedPromptTokens ?? 0).toBe(0);
  });

  it('while idle are not charged to the next chat', async () => {
    const { host, gpu } = hosted();
    await host.load(local('a'), { dtype: 'fp32' });
    gpu.error('something earlier');
    expect((await host.chat(ask('c'))).usage.completionTokens).toBe(8);
  });
});

describe('engine host: GPU faults during a load', () => {
  it('a loss rejects the load with device-lost; the next chat rebuilds the model loaded before', async () => {
    const { host, gpu } = hosted();
    await host.load(local('before'), { dtype: 'fp32' });
    const answer = await host.chat(ask('c'));
    gpu.onSession = (n) => n === 3 + 2 && gpu.lose('Device was destroyed.');
    const err = await host.load(local('after'), { dtype: 'fp32' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'EngineError', code: 'device-lost' });
    expect((err as Error).message).toMatch(
      /while the model was loading \(Device was destroyed\.\)\. Load it again/,
    );
    expect(gpu.settles()).toBeGreaterThan(0);
    // Its sessions (possibly on a dead device) are gone: nothing is loaded until the next chat rebuilds.
    expect((await host.status()).model).toBeNull();
    gpu.onSession = null;
    const run = await chatWith(host, ask('c'));
    expect(run.events.map((e) => e.kind)).not.toContain('device-lost');
    expect(run.outcome).toMatchObject({ ok: true, value: { message: answer.message } });
    expect((await host.status()).model?.id).toBe('before');
  });

  it('a loss during a first load leaves no model and no pending reload', async () => {
    const { host, gpu } = hosted();
    gpu.onSession = (n) => n === 1 && gpu.lose('gone');
    await expect(host.load(local('a'), { dtype: 'fp32' })).rejects.toMatchObject({ code: 'device-lost' });
    gpu.onSession = null;
    await expect(host.chat(ask('c'))).rejects.toMatchObject({ code: 'model-not-loaded' });
  });

  it('an error during a load that built rejects it with inference-failed and puts the previous model back', async () => {
    const { host, gpu } = hosted();
    await host.load(local('before'), { dtype: 'fp32' });
    gpu.onSession = (n) => n === 3 + 1 && gpu.error('Out of memory creating a buffer');
    const err = await host.load(local('after'), { dtype: 'fp32' }).catch((e: unknown) => e);
    gpu.onSession = null;
    expect(err).toMatchObject({ name: 'EngineError', code: 'inference-failed' });
    expect((err as Error).message).toMatch(
      /while building the model \(Out of memory creating a buffer\).*smaller/,
    );
    const status = await host.status();
    expect(status.model?.id).toBe('before');
    expect(status.backend).toBe('webgpu');
    expect((await host.chat(ask('c'))).usage.completionTokens).toBe(8);
  });

  it('a failed load keeps the model on the GPU watched: a later loss is announced and recovered', async () => {
    const { host, gpu } = hosted();
    await host.load(local('before'), { dtype: 'fp32' });
    await expect(host.load(local('offline'), { dtype: 'fp32' })).rejects.toMatchObject({
      code: 'download-failed',
    });
    expect((await host.status()).model?.id).toBe('before');
    gpu.lose('reset');
    const run = await chatWith(host, ask('c'));
    expect(run.events[0]?.kind).toBe('device-lost');
    expect(run.outcome.ok).toBe(true);
    expect((await host.status()).model?.id).toBe('before');
  });
});
