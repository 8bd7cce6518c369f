// The engine worker on WebGPU (Chromium's software adapter), through the debug worker's hooks: the KV cache stays on
// the GPU and only last-position logits come back; the device's buffer limits reach the loader, which refuses an
// oversized weight while keeping the loaded model; uncaptured GPU errors and a device lost during a load become
// 'inference-failed' / 'device-lost' with messages that say what to do, and the engine keeps working afterwards.
import { cp, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatResult } from '../../src/shared/protocol';
import type { RunRecord } from '../../workers/debug-api';
import { getTinyModel } from '../fixtures/tiny-model';
import { openEnginePage } from './harness/engine-page';
import type { EnginePage } from './harness/engine-page';
import type { Outcome, TestChatRequest } from './pages/engine-page';

const model = { kind: 'url', baseUrl: '/models/tiny/' } as const;
const webgpu = { device: 'webgpu', dtype: 'fp32' } as const;
const width = 40;
const height = 48;
const rgba = Array.from({ length: width * height * 4 }, (_, i) =>
  i % 4 === 3 ? 255 : (i * 7 + Math.floor(i / 160) * 13) % 256,
);
const VOCAB = 512;

const turn = (conversationId: string, maxNewTokens: number, followUp?: string): TestChatRequest => ({
  conversationId,
  sampling: { maxNewTokens, temperature: 0 },
  messages: [
    {
      role: 'user',
      content: [
        { type: 'image', image: { as: 'raw', width, height, rgba } },
        { type: 'text', text: 'What is in this picture?' },
      ],
    },
    ...(followUp ? [followUp] : []).flatMap((answer) => [
      { role: 'assistant' as const, content: answer },
      { role: 'user' as const, content: 'Tell me more.' },
    ]),
  ],
});

describe('engine worker on WebGPU: KV on the device, buffer limits, GPU faults', () => {
  let env: EnginePage;
  let modelDir: string;
  let reference: ChatResult;

  const ok = <T>(outcome: Outcome<T>): T => {
    if (!outcome.ok)
      throw new Error(
        `${outcome.error.name} ${outcome.error.code}: ${outcome.error.message}\n${env.browser.logs.slice(-20).join('\n')}`,
      );
    return outcome.value;
  };

  beforeAll(async () => {
    modelDir = await mkdtemp(path.join(os.tmpdir(), 'llava-e2e-model-'));
    await cp(getTinyModel('tiny').dir, modelDir, { recursive: true });
    env = await openEnginePage({ mounts: [{ prefix: '/models/tiny/', dir: modelDir }] });
    expect(ok((await env.call('load', model, webgpu)).outcome).backend).toBe('webgpu');
    reference = ok((await env.call('chat', turn('reference', 10))).outcome);
  });

  afterAll(async () => {
    await env?.close();
    if (modelDir) await rm(modelDir, { recursive: true, force: true });
  });

  it('keeps present.* on the GPU, feeds them back as past_key_values, and reads back one logits row a token', async () => {
    await env.call('recordRuns', true);
    const first = ok((await env.call('chat', turn('kv', 6))).outcome);
    const second = ok((await env.call('chat', turn('kv', 6, first.message.content))).outcome);
    const runs: RunRecord[] = await env.call('recordRuns', false);
    expect(second.usage.reusedPromptTokens).toBeGreaterThan(0);

    const decoder = runs.filter((r) => r.session === 'decoder');
    expect(decoder.length).toBeGreaterThanOrEqual(
      first.usage.completionTokens + second.usage.completionTokens,
    );
    const presents = decoder.flatMap((r) => r.outputs.filter((t) => t.name.startsWith('present.')));
    expect(presents.length).toBeGreaterThan(0);
    expect(new Set(presents.map((t) => t.location))).toEqual(new Set(['gpu-buffer']));
    // Every step after the conversation's first prefill, the follow-up's prefill included, gets its past from the GPU.
    const withPast = decoder.filter((r) => r.past.some((t) => (t.dims[2] ?? 0) > 0));
    expect(withPast.length).toBe(decoder.length - 1);
    for (const r of withPast) expect(new Set(r.past.map((t) => t.location))).toEqual(new Set(['gpu-buffer']));

    const logits = decoder.flatMap((r) => r.outputs.filter((t) => t.name === 'logits'));
    expect(logits.map((t) => t.location).every((l) => l === 'cpu')).toBe(true);
    expect(logits.every((t) => t.dims.join() === `1,1,${VOCAB}`)).toBe(true);
    expect(logits).toHaveLength(first.usage.completionTokens + second.usage.completionTokens);
  });

  it("hands the loader the device's buffer limits and refuses a weight over them, keeping the loaded model", async () => {
    const limits = await env.call('bufferLimits');
    console.log(`[measured] software adapter buffer limits: ${JSON.stringify(limits)}`);
    expect(limits?.maxBufferSize).toBeGreaterThanOrEqual(256 * 1024 * 1024);
    expect(limits?.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(128 * 1024 * 1024);
    const before = ok(await env.call('status'));
    const sessions = (await env.call('counters')).sessionsCreated;

    await env.call('shrinkBufferLimits', 100_000);
    const refused = await env.call('load', model, webgpu);
    await env.call('shrinkBufferLimits', null);
    expect(refused.outcome).toMatchObject({ ok: false, error: { name: 'EngineError', code: 'unsupported' } });
    const message = refused.outcome.ok ? '' : refused.outcome.error.message;
    expect(message).toMatch(/"language_model\.model\.embed_tokens\.weight" in onnx\/embed_tokens\.onnx/);
    expect(message).toMatch(/sharded or more strongly quantized/);
    // The vision encoder was built and dropped; the model loaded before was built again in its place.
    expect((await env.call('counters')).sessionsCreated).toBe(sessions + 1 + 3);
    expect(ok(await env.call('status')).model).toEqual(before.model);
    const answer = ok((await env.call('chat', turn('after-refusal', 10))).outcome);
    expect(answer.message.content).toBe(reference.message.content);
  });

  it('turns an uncaptured GPU error mid-answer into inference-failed; the next answer is right', async () => {
    const run = await env.call('chat', turn('gpu-error', 64), { interrupt: 'gpu-error', after: 1 });
    expect(run.outcome).toMatchObject({
      ok: false,
      error: { name: 'EngineError', code: 'inference-failed' },
    });
    const message = run.outcome.ok ? '' : run.outcome.error.message;
    expect(message).toMatch(/The GPU reported an error while answering \(.+\)\. Ask again/);
    const done = run.events.find((e) => e.kind === 'done');
    expect(done?.kind === 'done' && done.usage.completionTokens).toBeLessThan(64);
    const again = ok((await env.call('chat', turn('gpu-error', 10))).outcome);
    expect(again.message.content).toBe(reference.message.content);
    expect(again.usage.reusedPromptTokens ?? 0).toBe(0);
  });

  it('does not charge a GPU error raised while idle to the next chat', async () => {
    expect(await env.call('gpuError', 'now')).toBe(true);
    const run = ok((await env.call('chat', turn('after-idle-error', 10))).outcome);
    expect(run.message.content).toBe(reference.message.content);
  });

  it('turns a GPU error while building into inference-failed and puts the previous model back', async () => {
    await env.call('armFault', { kind: 'gpu-error', atSession: 2 });
    const load = await env.call('load', model, webgpu);
    expect(load.outcome).toMatchObject({
      ok: false,
      error: { name: 'EngineError', code: 'inference-failed' },
    });
    const message = load.outcome.ok ? '' : load.outcome.error.message;
    expect(message).toMatch(/while building the model \(.+\)\. The model may not fit this GPU/);
    const status = ok(await env.call('status'));
    expect(status.backend).toBe('webgpu');
    expect(status.model?.id).toBeTruthy();
    expect(ok((await env.call('chat', turn('after-build-error', 10))).outcome).message.content).toBe(
      reference.message.content,
    );
  });

  it('turns a device lost while loading into device-lost; the next chat answers on a fresh device', async () => {
    await env.call('armFault', { kind: 'lose-device', atSession: 2 });
    const load = await env.call('load', model, webgpu);
    expect(load.outcome).toMatchObject({ ok: false, error: { name: 'EngineError', code: 'device-lost' } });
    const message = load.outcome.ok ? '' : load.outcome.error.message;
    expect(message).toMatch(/stopped responding while the model was loading .*Load it again/);
    expect(ok(await env.call('status')).model).toBeNull();

    const run = await env.call('chat', turn('after-loss', 10));
    expect(ok(run.outcome).message.content).toBe(reference.message.content);
    expect(run.events.map((e) => e.kind)).not.toContain('device-lost');
    expect(ok(await env.call('status')).backend).toBe('webgpu');
    // And a plain load works again on the new device.
    expect(ok((await env.call('load', model, webgpu)).outcome).backend).toBe('webgpu');
  });

  it('touched nothing but the local server', () => {
    expect(env.browser.blockedRequests).toEqual([]);
  });
});
