// The engine in a module worker of real Chromium, on WebGPU (software adapter) and WASM, through the engine client:
// same greedy tokens as the Node engine, aborts, a free main thread, device loss, errors with codes, worker crashes.
import { cp, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatRequest, ChatResult, GenerationEvent } from '../../src/shared/protocol';
import { getTinyModel } from '../fixtures/tiny-model';
import { openEnginePage } from './harness/engine-page';
import type { EnginePage } from './harness/engine-page';
import { createNodeEngine } from '../../src/node/node-engine';
import type { Outcome, TestChatRequest, TestImage } from './pages/engine-page';

const model = { kind: 'url', baseUrl: '/models/tiny/' } as const;
const width = 40;
const height = 48;
/** A deterministic opaque picture, not square, so the resize and pad paths run. */
const rgba = Array.from({ length: width * height * 4 }, (_, i) => {
  const pixel = Math.floor(i / 4);
  const [x, y, channel] = [pixel % width, Math.floor(pixel / width), i % 4];
  return channel === 3 ? 255 : (x * 13 + y * 7 * (channel + 1) + channel * 50) % 256;
});
const question = 'What is in this picture?';
const followUp = 'And what colour is it?';
const maxNewTokens = 12;

/** The browser gets the picture as a PNG file (decoded in the worker); Node gets the same pixels raw. */
const firstTurn = (as: TestImage['as'] = 'png'): TestChatRequest => ({
  conversationId: 'c1',
  sampling: { maxNewTokens },
  messages: [
    {
      role: 'user',
      content: [
        { type: 'image', image: { as, width, height, rgba } },
        { type: 'text', text: question },
      ],
    },
  ],
});
const secondTurn = (answer: string): TestChatRequest => ({
  conversationId: 'c1',
  sampling: { maxNewTokens },
  messages: [
    ...firstTurn().messages,
    { role: 'assistant', content: answer },
    { role: 'user', content: followUp },
  ],
});

function toNodeRequest(request: TestChatRequest): ChatRequest {
  return {
    ...request,
    messages: request.messages.map((message) => ({
      role: message.role,
      content:
        typeof message.content === 'string'
          ? message.content
          : message.content.map((part) => {
              if (part.type === 'text') return part;
              if (part.image.as === 'stored') throw new Error('the Node reference takes raw pixels only');
              return {
                type: 'image' as const,
                image: { width, height, data: Uint8ClampedArray.from(part.image.rgba) },
              };
            }),
    })),
  };
}

function expectOk<T>(outcome: Outcome<T>, logs: string[]): T {
  if (!outcome.ok)
    throw new Error(
      `${outcome.error.name} ${outcome.error.code}: ${outcome.error.message}\n${logs.slice(-20).join('\n')}`,
    );
  return outcome.value;
}

const msPerToken = (result: ChatResult) => 1000 / result.usage.decodeTokensPerS;
const kinds = (events: GenerationEvent[]) => events.map((event) => event.kind);

describe('engine worker in Chromium', () => {
  let env: EnginePage;
  let expectedFirst: ChatResult;
  let expectedSecond: ChatResult;
  const measured: string[] = [];

  let modelDir: string;

  beforeAll(async () => {
    // A private copy: the shared fixture cache may be rebuilt by another test run while this one serves it.
    modelDir = await mkdtemp(path.join(os.tmpdir(), 'llava-e2e-model-'));
    await cp(getTinyModel('tiny').dir, modelDir, { recursive: true });
    const node = createNodeEngine(modelDir);
    await node.load({ kind: 'local', id: 'tiny' }, { dtype: 'fp32' });
    expectedFirst = await node.chat(toNodeRequest(firstTurn()));
    // After a device loss the browser has no KV cache left and prefills the whole conversation: so must the reference.
    await node.forget('c1');
    expectedSecond = await node.chat(toNodeRequest(secondTurn(expectedFirst.message.content)));
    expect(expectedSecond.usage.reusedPromptTokens ?? 0).toBe(0);
    env = await openEnginePage({ mounts: [{ prefix: '/models/tiny/', dir: modelDir }] });
  });

  afterAll(async () => {
    if (measured.length > 0) console.log(`[measured] ${measured.join('; ')}`);
    await env?.close();
    if (modelDir) await rm(modelDir, { recursive: true, force: true });
  });

  it('rejects a chat before any load with EngineError model-not-loaded', async () => {
    const run = await env.call('chat', firstTurn());
    expect(run.outcome).toMatchObject({
      ok: false,
      error: { name: 'EngineError', code: 'model-not-loaded' },
    });
  });

  it('runs on WebGPU (software adapter) with the same greedy tokens as the Node engine', async () => {
    const load = await env.call('load', model, { device: 'webgpu', dtype: 'fp32' });
    const status = expectOk(load.outcome, env.browser.logs);
    expect(status.backend).toBe('webgpu');
    expect(status.adapter?.isFallbackAdapter).toBe(true);
    expect(status.shaderF16).toBe(false);
    expect(load.events.at(-1)?.kind).toBe('ready');
    expect(load.events.some((event) => event.kind === 'file-done' && event.loaded > 0)).toBe(true);

    const run = await env.call('chat', firstTurn('png'));
    const result = expectOk(run.outcome, env.browser.logs);
    expect(result.message.content).toBe(expectedFirst.message.content);
    expect(result.usage.completionTokens).toBe(expectedFirst.usage.completionTokens);
    expect(result.usage.promptTokens).toBe(expectedFirst.usage.promptTokens);
    const streamed = run.events.flatMap((event) => (event.kind === 'token' ? [event.text] : [])).join('');
    expect(streamed).toBe(result.message.content);
    expect(kinds(run.events).at(-1)).toBe('done');
    measured.push(
      `webgpu cold: ttft ${result.usage.timeToFirstTokenMs.toFixed(0)} ms, ${msPerToken(result).toFixed(1)} ms/token`,
    );
  });

  it('keeps the main thread free: no task over 50 ms during a generation', async () => {
    const run = await env.call('chat', {
      ...firstTurn('raw'),
      conversationId: 'warm',
      sampling: { maxNewTokens: 24 },
    });
    const result = expectOk(run.outcome, env.browser.logs);
    expect(run.events.filter((event) => event.kind === 'token').length).toBeGreaterThanOrEqual(5);
    const longTasks = await env.call('longTasks', run.startedAt, run.endedAt);
    expect(longTasks).toEqual([]);
    measured.push(
      `webgpu warm: ttft ${result.usage.timeToFirstTokenMs.toFixed(0)} ms, ${msPerToken(result).toFixed(1)} ms/token`,
    );
  });

  it('aborts mid-generation with AbortError, keeps the model loaded, and answers the next chat', async () => {
    const before = await env.call('counters');
    const aborted = await env.call(
      'chat',
      { ...firstTurn(), sampling: { maxNewTokens: 64 } },
      { interrupt: 'abort', after: 1 },
    );
    expect(aborted.outcome).toMatchObject({ ok: false, error: { name: 'AbortError', code: null } });
    const done = aborted.events.find((event) => event.kind === 'done');
    expect(done?.kind === 'done' && done.finishReason).toBe('abort');
    expect(done?.kind === 'done' && done.usage.completionTokens).toBeLessThan(64);

    const again = await env.call('chat', firstTurn());
    expect(expectOk(again.outcome, env.browser.logs).message.content).toBe(expectedFirst.message.content);
    const after = await env.call('counters');
    expect(after).toEqual(before);
    expect(before.sessionsCreated).toBe(3);
  });

  it('turns a corrupt image into EngineError bad-image, and keeps working', async () => {
    const run = await env.call('chat', firstTurn('corrupt'));
    expect(run.outcome).toMatchObject({ ok: false, error: { name: 'EngineError', code: 'bad-image' } });
    const status = expectOk(await env.call('status'), env.browser.logs);
    expect(status.model?.id).toBeTruthy();
  });

  it('survives a device lost while idle: device-lost event, reload on a new device, conversation kept', async () => {
    const first = expectOk((await env.call('chat', firstTurn())).outcome, env.browser.logs);
    const sessionsBefore = (await env.call('counters')).sessionsCreated;
    expect(await env.call('loseDevice')).toBe(true);

    const run = await env.call('chat', secondTurn(first.message.content));
    expect(kinds(run.events)[0]).toBe('device-lost');
    const result = expectOk(run.outcome, env.browser.logs);
    expect(result.message.content).toBe(expectedSecond.message.content);
    const status = expectOk(await env.call('status'), env.browser.logs);
    expect(status.backend).toBe('webgpu');
    expect((await env.call('counters')).sessionsCreated).toBe(sessionsBefore + 3);
    expect(await env.call('notices')).toContainEqual(expect.objectContaining({ kind: 'device-lost' }));
  });

  it('survives a device lost mid-generation: that chat fails with device-lost, the next one answers on WASM', async () => {
    const lost = await env.call(
      'chat',
      { ...firstTurn(), sampling: { maxNewTokens: 64 } },
      { interrupt: 'lose-device', after: 1 },
    );
    expect(lost.outcome).toMatchObject({ ok: false, error: { name: 'EngineError', code: 'device-lost' } });
    expect(kinds(lost.events)).toContain('device-lost');

    // A second loss in one session: the host stops trusting the GPU and reloads on WASM.
    const run = await env.call('chat', secondTurn(expectedFirst.message.content));
    expect(kinds(run.events)).not.toContain('device-lost');
    expect(expectOk(run.outcome, env.browser.logs).message.content).toBe(expectedSecond.message.content);
    expect(expectOk(await env.call('status'), env.browser.logs).backend).toBe('wasm');
  });

  it('runs on WASM (threads, cross-origin isolated) with the same greedy tokens as the Node engine', async () => {
    const status = expectOk(
      (await env.call('load', model, { device: 'wasm', dtype: 'fp32' })).outcome,
      env.browser.logs,
    );
    expect(status).toMatchObject({ backend: 'wasm', adapter: null, crossOriginIsolated: true });
    expect(status.threads).toBeGreaterThan(1);
    const run = await env.call('chat', { ...firstTurn('png'), conversationId: 'wasm' });
    const result = expectOk(run.outcome, env.browser.logs);
    expect(result.message.content).toBe(expectedFirst.message.content);
    expect(result.usage.completionTokens).toBe(expectedFirst.usage.completionTokens);
    const warm = expectOk(
      (
        await env.call('chat', {
          ...firstTurn('raw'),
          conversationId: 'wasm-warm',
          sampling: { maxNewTokens: 24 },
        })
      ).outcome,
      env.browser.logs,
    );
    const aborted = await env.call(
      'chat',
      { ...firstTurn(), sampling: { maxNewTokens: 400 } },
      { interrupt: 'abort', after: 1 },
    );
    expect(aborted.outcome).toMatchObject({ ok: false, error: { name: 'AbortError' } });
    const done = aborted.events.find((event) => event.kind === 'done');
    expect(done?.kind === 'done' && done.usage.completionTokens).toBeLessThan(400);
    measured.push(
      `wasm (${status.threads} threads): ttft ${warm.usage.timeToFirstTokenMs.toFixed(0)} ms, ${msPerToken(warm).toFixed(2)} ms/token`,
    );
  });

  it("'auto' passes over the software WebGPU adapter for WASM and says why", async () => {
    const status = expectOk((await env.call('load', model, { dtype: 'fp32' })).outcome, env.browser.logs);
    expect(status).toMatchObject({ backend: 'wasm', adapter: null });
    expect(status.backendNote).toMatch(/Auto chose WebAssembly: .*software/);
  });

  it('replaces a crashed worker: the call in flight rejects with a code, a fresh worker answers', async () => {
    const run = await env.call(
      'chat',
      { ...firstTurn(), sampling: { maxNewTokens: 400 } },
      { interrupt: 'crash', after: 1 },
    );
    expect(run.outcome).toMatchObject({
      ok: false,
      error: { name: 'EngineError', code: 'inference-failed' },
    });
    expect(await env.call('notices')).toContainEqual(expect.objectContaining({ kind: 'worker-restarted' }));
    const status = expectOk(await env.call('status'), env.browser.logs);
    expect(status.model).toBeNull();
    expect(await env.call('counters')).toEqual({ sourcesOpened: 0, filesRead: 0, sessionsCreated: 0 });
  });

  it('touched nothing but the local server', () => {
    expect(env.browser.blockedRequests).toEqual([]);
    // HEAD probes for optional files (external data, chat templates) may 404; no file the engine read may.
    expect(
      env.server.requests.filter((request) => request.method === 'GET' && request.status >= 400),
    ).toEqual([]);
  });
});
