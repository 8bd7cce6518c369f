// The engine worker in a Chromium without WebGPU: 'auto' falls back to WASM, an explicit 'webgpu' and a missing model
// fail with their EngineError codes, and the page still touches nothing but the local server.
import { cp, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getTinyModel } from '../fixtures/tiny-model';
import { openEnginePage } from './harness/engine-page';
import type { EnginePage } from './harness/engine-page';

describe('engine worker without WebGPU', () => {
  let env: EnginePage;
  let modelDir: string;

  beforeAll(async () => {
    modelDir = await mkdtemp(path.join(os.tmpdir(), 'llava-e2e-model-'));
    await cp(getTinyModel('tiny').dir, modelDir, { recursive: true });
    env = await openEnginePage({ webgpu: false, mounts: [{ prefix: '/models/tiny/', dir: modelDir }] });
  });

  afterAll(async () => {
    await env?.close();
    if (modelDir) await rm(modelDir, { recursive: true, force: true });
  });

  it('refuses an explicit WebGPU request with EngineError webgpu-unavailable', async () => {
    const load = await env.call(
      'load',
      { kind: 'url', baseUrl: '/models/tiny/' },
      { device: 'webgpu', dtype: 'fp32' },
    );
    expect(load.outcome).toMatchObject({
      ok: false,
      error: { name: 'EngineError', code: 'webgpu-unavailable' },
    });
  });

  it("falls back to WASM for 'auto' and answers", async () => {
    const load = await env.call('load', { kind: 'url', baseUrl: '/models/tiny/' }, { dtype: 'fp32' });
    expect(load.outcome).toMatchObject({ ok: true, value: { backend: 'wasm', adapter: null } });
    const run = await env.call('chat', {
      messages: [{ role: 'user', content: 'Hello?' }],
      sampling: { maxNewTokens: 4 },
    });
    expect(run.outcome).toMatchObject({ ok: true, value: { usage: { completionTokens: 4 } } });
  });

  it('reports a model address with nothing behind it as EngineError download-failed', async () => {
    const load = await env.call('load', { kind: 'url', baseUrl: '/models/missing/' }, { dtype: 'fp32' });
    expect(load.outcome).toMatchObject({
      ok: false,
      error: { name: 'EngineError', code: 'download-failed' },
    });
    expect(load.outcome.ok || load.outcome.error.message.length > 10).toBe(true);
  });

  it('touched nothing but the local server', () => {
    expect(env.browser.blockedRequests).toEqual([]);
  });
});
