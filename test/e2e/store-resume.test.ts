// The weight store in real Chromium: the engine worker downloads the tiny model into IndexedDB, the page is reloaded
// in the middle of the download, the next load resumes with Range from the last stored chunk, re-verification passes,
// and with the model server unreachable the model loads from IndexedDB alone and answers a chat. Then, on a bigger
// file: a dropped connection at many offsets re-fetches at most one chunk, counted by the server, and a delete from a
// second tab wins over the running download.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LoadProgressEvent } from '../../src/shared/protocol';
import { getTinyModel } from '../fixtures/tiny-model';
import { seededBytes } from '../unit/helpers/store-fixtures';
import { startStoreServer, type StoreTestServer } from '../unit/helpers/store-server';
import { launchBrowser, type TestBrowser } from './harness/browser';
import { buildApp } from './harness/build-app';
import type { StoreHarness } from './pages/store-e2e-page';

const CHUNK = 64 * 1024; // what store-engine.worker.ts uses
const model = { kind: 'url', baseUrl: '/models/tiny/', id: 'tiny' } as const;
const loadOptions = { device: 'wasm', dtype: 'fp32' } as const;

async function readFolder(dir: string, prefix = ''): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const rel = `${prefix}${entry.name}`;
    if (entry.isDirectory())
      for (const [p, b] of await readFolder(path.join(dir, entry.name), `${rel}/`)) out.set(p, b);
    else if (entry.name !== 'manifest.json')
      out.set(rel, new Uint8Array(await readFile(path.join(dir, entry.name))));
  }
  return out;
}

type Call = <K extends keyof StoreHarness>(
  name: K,
  ...args: Parameters<StoreHarness[K]>
) => Promise<Awaited<ReturnType<StoreHarness[K]>>>;

describe('weight store in Chromium', () => {
  let files: Map<string, Uint8Array>;
  let server: StoreTestServer;
  let browser: TestBrowser;
  let page: Page;

  const openPage = async (): Promise<void> => {
    page = await browser.newPage();
    await page.goto(`${server.origin}/test/e2e/pages/store-e2e.html`);
    await page.waitForFunction(() => 'storeHarness' in globalThis);
  };
  const callOn =
    (on: () => Page): Call =>
    (name, ...args) =>
      on().evaluate(
        ([method, params]) => {
          const h = (globalThis as unknown as { storeHarness: Record<string, (...a: unknown[]) => unknown> })
            .storeHarness;
          return h[method]!(...params);
        },
        [name, args] as [string, unknown[]],
      ) as never;
  const call: Call = (name, ...args) =>
    page.evaluate(
      ([method, params]) => {
        const h = (globalThis as unknown as { storeHarness: Record<string, (...a: unknown[]) => unknown> })
          .storeHarness;
        return h[method]!(...params);
      },
      [name, args] as [string, unknown[]],
    ) as never;

  beforeAll(async () => {
    files = await readFolder(getTinyModel('tiny').dir);
    const dist = await buildApp();
    server = await startStoreServer(files, { name: 'tiny', staticDir: dist });
    browser = await launchBrowser({ webgpu: false });
    await openPage();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await bigServer?.close();
  });

  let bigServer: StoreTestServer | undefined;
  const BIG = 'onnx/decoder_model_merged.onnx';
  const BIG_SIZE = 24_000_000;
  const BIG_CHUNK = 4 * 1024 * 1024;
  /** A second origin serving a model with one 24 MB file, and two pages (tabs) on it. */
  const bigModelTabs = async (): Promise<{ s: StoreTestServer; tabs: [Page, Page] }> => {
    if (!bigServer) {
      const files = new Map<string, Uint8Array>([
        ['config.json', new TextEncoder().encode('{"model_type":"llava"}')],
        ['onnx/vision_encoder.onnx', seededBytes(1000, 1)],
        ['onnx/embed_tokens.onnx', seededBytes(1000, 2)],
        [BIG, seededBytes(BIG_SIZE, 3)],
      ]);
      bigServer = await startStoreServer(files, { name: 'big', staticDir: await buildApp() });
    }
    const open = async (): Promise<Page> => {
      const tab = await browser.newPage();
      await tab.goto(`${bigServer!.origin}/test/e2e/pages/store-e2e.html`);
      await tab.waitForFunction(() => 'storeHarness' in globalThis);
      return tab;
    };
    return { s: bigServer, tabs: [await open(), await open()] };
  };
  const bigRef = (id: string) => ({ kind: 'url', baseUrl: '/models/big/', id }) as const;

  it('resumes after a reload mid-download, verifies, then loads from IndexedDB with the network gone and chats', async () => {
    const decoder = 'onnx/decoder_model_merged.onnx';
    const decoderSize = files.get(decoder)?.byteLength ?? 0;
    expect(decoderSize).toBeGreaterThan(4 * CHUNK);
    // Slow the biggest file so the reload lands in its middle.
    server.faults.push({
      path: decoder,
      fault: { kind: 'slow', bytesPerTick: 16 * 1024, tickMs: 25 },
      times: 1,
    });

    const firstLoad = call('load', model, loadOptions).catch(() => 'page closed');
    while (server.bytesSent(decoder) < decoderSize / 2) await new Promise((r) => setTimeout(r, 10));
    const progressBefore = await call('loadEvents');
    expect(progressBefore.some((e) => e.kind === 'file-progress' && e.file === decoder)).toBe(true);
    await page.close(); // the worker dies with the page, its fetch with it
    expect(await firstLoad).toBe('page closed');
    const sentBeforeReload = server.bytesSent(decoder);

    await openPage();
    const [partial] = await call('list');
    expect(partial).toMatchObject({ id: 'tiny', complete: false });
    expect(partial?.bytes).toBeGreaterThanOrEqual(2 * CHUNK);

    const second = await call('load', model, loadOptions);
    if (!second.outcome.ok) throw new Error(`${second.outcome.error.code}: ${second.outcome.error.message}`);
    const resumed = server.requests.filter((r) => r.path === decoder);
    expect(resumed).toHaveLength(2);
    const range = /^bytes=(\d+)-$/.exec(resumed[1]?.range ?? '');
    expect(resumed[1]?.status).toBe(206);
    const resumedAt = Number(range?.[1]);
    expect(resumedAt % CHUNK).toBe(0);
    expect(resumedAt).toBeGreaterThan(0);
    // Re-fetched after the reload: only what had not reached a stored chunk (< one chunk).
    console.info(
      `store e2e: reload after ${sentBeforeReload} of ${decoderSize} bytes, resumed at ${resumedAt}, re-fetched ${sentBeforeReload - resumedAt}`,
    );
    expect(sentBeforeReload - resumedAt).toBeLessThan(CHUNK + 16 * 1024);
    expect(server.bytesSent(decoder)).toBeLessThanOrEqual(decoderSize + CHUNK + 16 * 1024);
    for (const [p, bytes] of files)
      expect(server.bytesSent(p), p).toBeLessThanOrEqual(bytes.byteLength + CHUNK);

    const events: LoadProgressEvent[] = second.events;
    let overall = -1;
    for (const e of events) {
      if (!('overall' in e) || !e.overall) continue;
      expect(e.overall.loaded).toBeGreaterThanOrEqual(overall);
      overall = e.overall.loaded;
    }
    const lastOverall = [...events].reverse().find((e) => 'overall' in e && e.overall);
    expect(lastOverall && 'overall' in lastOverall ? lastOverall.overall?.loaded : -1).toBe(
      lastOverall && 'overall' in lastOverall ? lastOverall.overall?.total : -2,
    );

    const report = await call('verify', 'tiny');
    expect(report.ok).toBe(true);
    expect(report.files.map((f) => f.path)).toContain(decoder);
    const stored = await call('storedFiles', 'tiny');
    for (const f of stored) expect(f.size, f.path).toBe(files.get(f.path)?.byteLength);

    // The network is gone: every model request is cut off. A fresh page and worker load from IndexedDB and chat.
    server.offline = true;
    await page.close();
    await openPage();
    const offline = await call('load', model, loadOptions);
    if (!offline.outcome.ok)
      throw new Error(`${offline.outcome.error.code}: ${offline.outcome.error.message}`);
    const chat = await call('chat', 'What is in the picture?', 6);
    if (!chat.outcome.ok) throw new Error(`${chat.outcome.error.code}: ${chat.outcome.error.message}`);
    expect(chat.outcome.value.usage.completionTokens).toBeGreaterThan(0);
    expect(chat.tokens).toBeGreaterThan(0);
    expect(server.refusedWhileOffline).toEqual([]);
    expect(browser.blockedRequests).toEqual([]);
  });

  it('a drop at any of 8 offsets of a 24 MB file re-fetches at most one chunk, counted by the server', async () => {
    const { s, tabs } = await bigModelTabs();
    const run = callOn(() => tabs[0]);
    const refetched: number[] = [];
    for (let i = 0; i < 8; i++) {
      // Spread over the file, on and off chunk boundaries.
      const at = i % 4 === 0 ? BIG_CHUNK * (1 + i / 2) : Math.round(BIG_SIZE * ((i * 0.618) % 1));
      s.resetCounts();
      s.faults.length = 0;
      s.faults.push({ path: BIG, fault: { kind: 'drop', at }, times: 1 });
      const done = await run('download', bigRef(`drop-${i}`), BIG_CHUNK);
      if (!done.ok) throw new Error(`${done.error.code}: ${done.error.message}`);
      const again = s.bytesSent(BIG) - BIG_SIZE;
      refetched.push(again);
      expect(s.requests.filter((r) => r.path === BIG).length, `drop at ${at}`).toBe(2);
      expect(again, `drop at ${at}`).toBeLessThanOrEqual(BIG_CHUNK);
      await run('remove', `drop-${i}`);
    }
    console.info(
      `store e2e: re-fetched after a drop (bytes, 8 offsets, chunk ${BIG_CHUNK}): ${refetched.join(' ')}`,
    );
    // sha256 ran in the hash worker, off the thread that reads the network.
    expect(await run('hashingThread')).toBe('worker');
    await Promise.all(tabs.map((t) => t.close()));
  });

  it('a delete from a second tab wins over the download running in the first', async () => {
    const { s, tabs } = await bigModelTabs();
    s.resetCounts();
    s.faults.length = 0;
    s.faults.push({ path: BIG, fault: { kind: 'slow', bytesPerTick: 256 * 1024, tickMs: 20 } });
    const running = callOn(() => tabs[0])('download', bigRef('doomed'), 1024 * 1024, 'Big model');
    while (s.bytesSent(BIG) < 4_000_000) await new Promise((r) => setTimeout(r, 20));
    const second = callOn(() => tabs[1]);
    expect(await second('storedBytes', 'doomed')).toBeGreaterThan(0);
    await second('remove', 'doomed');
    const outcome = await running;
    expect(outcome).toMatchObject({
      ok: false,
      error: {
        code: 'aborted',
        message: expect.stringContaining('Big model was deleted while it was downloading'),
      },
    });
    await new Promise((r) => setTimeout(r, 100));
    const sent = s.bytesSent(BIG);
    await new Promise((r) => setTimeout(r, 400));
    expect(s.bytesSent(BIG)).toBe(sent);
    expect(sent).toBeLessThan(BIG_SIZE);
    for (const tab of tabs) expect(await callOn(() => tab)('storedBytes', 'doomed')).toBeNull();
    s.faults.length = 0;
    await Promise.all(tabs.map((t) => t.close()));
  });

  it('sends the hub token to the hub host and never to the CDN host the browser is redirected to', async () => {
    const token = 'hf_e2eToken0123456789';
    const files = new Map<string, Uint8Array>([
      ['config.json', new TextEncoder().encode('{"model_type":"llava"}')],
      ['onnx/vision_encoder.onnx', seededBytes(3000, 1)],
      ['onnx/embed_tokens.onnx', seededBytes(3000, 2)],
      ['onnx/decoder_model_merged.onnx', seededBytes(300_000, 3)],
    ]);
    // The page and the hub on 127.0.0.1, the CDN on localhost: another origin, as the hub's CDN is.
    const hub = await startStoreServer(files, {
      name: 'tok',
      staticDir: await buildApp(),
      cdnHost: 'localhost',
      access: { mode: 'private', token },
    });
    try {
      const tab = await browser.newPage();
      await tab.goto(`${hub.origin}/test/e2e/pages/store-e2e.html`);
      await tab.waitForFunction(() => 'storeHarness' in globalThis);
      const ref = { kind: 'hub', repo: 'test-org/tiny-llava', endpoint: `${hub.origin}/hub` } as const;
      const anonymous = await callOn(() => tab)('download', ref, 64 * 1024);
      expect(anonymous).toMatchObject({ ok: false, error: { message: expect.stringContaining('private') } });
      const done = await callOn(() => tab)('download', ref, 64 * 1024, undefined, token);
      if (!done.ok) throw new Error(`${done.error.code}: ${done.error.message}`);
      const hubHost = new URL(hub.origin).host;
      const toHub = hub.seen.filter((r) => r.route === 'hub-api' || r.route === 'resolve');
      const toCdn = hub.seen.filter((r) => r.route === 'cdn');
      expect(toCdn.length).toBeGreaterThanOrEqual(3);
      for (const r of toCdn) {
        expect(r.host).not.toBe(hubHost);
        expect(r.authorization, r.path).toBeNull();
      }
      expect(toHub.filter((r) => r.authorization === `Bearer ${token}`).length).toBeGreaterThanOrEqual(4);
      await tab.close();
    } finally {
      await hub.close();
    }
  });

  it('imports a model folder chosen with <input webkitdirectory>, checked against its manifest, and chats offline', async () => {
    server.offline = true;
    await page.locator('#folder').setInputFiles(getTinyModel('tiny').dir);
    const imported = await call('importFromInput');
    if (!imported.ok) throw new Error(`${imported.error.code}: ${imported.error.message}`);
    expect(imported.value.ref.kind).toBe('local');
    const summary = (await call('list')).find((m) => m.id === imported.value.id);
    // Verified: the folder's manifest.json vouches for every file's sha256.
    expect(summary).toMatchObject({ complete: true, verified: true });
    const loaded = await call('load', imported.value.ref, loadOptions);
    if (!loaded.outcome.ok) throw new Error(`${loaded.outcome.error.code}: ${loaded.outcome.error.message}`);
    const chat = await call('chat', 'Hello', 4);
    if (!chat.outcome.ok) throw new Error(`${chat.outcome.error.code}: ${chat.outcome.error.message}`);
    expect(chat.tokens).toBeGreaterThan(0);
    expect(server.refusedWhileOffline).toEqual([]);
  });
});
