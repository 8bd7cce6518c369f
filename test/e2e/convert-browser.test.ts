// Converting a checkpoint inside Chromium: the product's conversion worker streams a tiny bf16 llava-hf checkpoint
// from the hub look-alike (headers by Range, then each file once, front to back, in file order) and writes the weight
// store. Every output file has the sha256 `npm run convert` gives with the same options, the stored model chats the
// same greedy tokens as the Node engine on the Node folder, a connection dropped mid-tensor is reopened where it
// broke, a file served with a wrong byte is fetched once more (then `integrity`), a worker killed mid-conversion (a
// closed tab) leaves nothing listed and the next run resumes at the first unfinished tensor without refetching
// finished ones (the server's byte counts and Range log), and a pickle-only repo or an unknown architecture is
// refused with no tensor byte fetched.
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertCheckpoint } from '../../src/modelgen/convert/convert';
import { getPreset } from '../../src/modelgen/llava/presets';
import { listWeights } from '../../src/modelgen/llava/weight-spec';
import { readSourceConfig } from '../../src/modelgen/convert/source-config';
import { LLAVA15_7B } from '../fixtures/replicas/published';
import { createRandomWeights } from '../../src/modelgen/llava/random-weights';
import { folderFiles, removeTempDirs, tempDir, writeLlavaHfCheckpoint } from '../unit/convert-helpers';
import { startStoreServer, type StoreTestServer } from '../unit/helpers/store-server';
import { launchBrowser, type TestBrowser } from './harness/browser';
import { buildApp } from './harness/build-app';
import { createNodeEngine } from '../../src/node/node-engine';
import { harnessCall, openConvertHarness } from './harness/convert-harness';

const REPO = 'test-org/tiny-llava-bf16';
const PROMPT = 'Describe the scene.';
const config = getPreset('tiny');
config.text_config.num_hidden_layers = 3;
const weights = createRandomWeights(config, 5);
// Two decoder shards: each shard carries about 74 kB of tables; 150 kB holds them, the head and two q4 layers of
// this config, not three (the expectation below checks it).
const choices = {
  quant: 'q4',
  visionQuant: 'fp16',
  shardSize: 150_000,
  maxDataFileBytes: 256 * 1024,
} as const;

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

describe('in-browser conversion from the hub look-alike', () => {
  let server: StoreTestServer;
  let browser: TestBrowser;
  let page: Page;
  let checkpoint: Map<string, Uint8Array>;
  let nodeOut: Map<string, Uint8Array>;
  let nodeDir: string;
  /** Tensor bytes one uninterrupted conversion fetches (every byte of each file: it is hashed). */
  let fullTensorBytes = 0;
  const ref = () => ({ kind: 'hub', repo: REPO, endpoint: server.hubEndpoint }) as const;
  const call = harnessCall(() => page);
  /** The data pass's requests (open-ended Ranges) per safetensors file, in order: [file, first byte]. */
  const streams = (): Array<[string, number]> =>
    server.requests
      .filter((r) => r.path.endsWith('.safetensors') && /^bytes=\d+-$/.test(r.range ?? ''))
      .map((r) => [r.path.slice(r.path.lastIndexOf('/') + 1), Number(/\d+/.exec(r.range as string)?.[0])]);
  const size = (file: string): number => checkpoint.get(file)!.byteLength;
  /** Bytes the server sent from the safetensors files beyond the two header reads (the data pass's bytes). */
  const tensorBytesSent = (): number => {
    let n = 0;
    for (const [p, b] of checkpoint) {
      if (!p.endsWith('.safetensors')) continue;
      const header = 8 + Number(new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true));
      n += Math.max(0, server.bytesSent(p) - header);
    }
    return n;
  };

  beforeAll(async () => {
    const root = tempDir('browser-convert');
    const input = path.join(root, 'ckpt');
    writeLlavaHfCheckpoint(input, config, weights, 'llava-hf', { dtype: 'BF16', shards: 2 });
    checkpoint = folderFiles(input);
    const result = await convertCheckpoint({ input, output: path.join(root, 'node-out'), ...choices });
    expect(result.shards.length).toBe(2);
    nodeDir = result.dir;
    nodeOut = folderFiles(result.dir);
    const dist = await buildApp();
    server = await startStoreServer(new Map(checkpoint), {
      repo: REPO,
      staticDir: dist,
      isLfs: (p) => p.endsWith('.safetensors'),
    });
    browser = await launchBrowser({ webgpu: false });
    page = await browser.newPage();
    await openConvertHarness(page, server.origin);
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    removeTempDirs();
  });

  it('writes every file with the sha256 npm run convert gives, and chats the same greedy tokens', async () => {
    server.resetCounts();
    server.requests.length = 0;
    const run = await call('convert', { ref: ref(), id: 'converted/tiny', chunkSize: 64 * 1024, ...choices });
    expect(run.error).toBeNull();
    fullTensorBytes = tensorBytesSent();
    // In file order: one request per file, from its first byte, the files in shard order.
    const files = [...checkpoint.keys()].filter((p) => p.endsWith('.safetensors')).sort();
    expect(streams()).toEqual(files.map((f) => [f, 0]));
    expect(fullTensorBytes).toBe(files.reduce((n, f) => n + size(f), 0));
    expect(run.tensors).toBeGreaterThan(50);
    // The plan, computed from config and headers before any tensor byte, says what was then fetched and stored.
    expect(run.plan?.downloadBytes).toBe(fullTensorBytes);
    const outputBytes = [...nodeOut]
      .filter(([p]) => p.includes('onnx/'))
      .reduce((n, [, b]) => n + b.byteLength, 0);
    expect(run.plan?.storageBytes).toBeGreaterThan(outputBytes);
    expect(run.phases[0]).toBe('plan');
    expect(run.phases.at(-1)).toBe('done');
    const stored = await call('records', 'converted/tiny');
    expect(stored.map((r) => r.path)).toEqual([...nodeOut.keys()].sort());
    for (const r of stored) {
      const node = nodeOut.get(r.path)!;
      expect({ path: r.path, size: r.size, sha256: r.sha256, complete: r.complete }).toEqual({
        path: r.path,
        size: node.byteLength,
        sha256: sha256(node),
        complete: true,
      });
    }
    const listed = (await call('list')).find((m) => m.id === 'local:converted/tiny');
    expect(listed?.complete).toBe(true);
    // Each file passed once (plus its header, read for the plan).
    for (const f of files) expect(run.bytes[f]).toBeLessThan(size(f) * 1.2);

    const browserChat = await call('chat', 'converted/tiny', PROMPT, 8, { device: 'wasm' });
    expect(browserChat.error).toBeNull();
    const engine = createNodeEngine(nodeDir);
    await engine.load({ kind: 'local', id: 'node' }, { device: 'cpu' });
    const nodeTokens: string[] = [];
    const nodeResult = await engine.chat(
      { messages: [{ role: 'user', content: PROMPT }], sampling: { maxNewTokens: 8 } },
      { onEvent: (e) => void (e.kind === 'token' && nodeTokens.push(e.text)) },
    );
    await engine.unload();
    // The browser's event batcher may merge tokens into one event, so compare the text and the token count.
    expect(nodeResult.usage.completionTokens).toBe(8);
    expect(browserChat.count).toBe(nodeResult.usage.completionTokens);
    expect(browserChat.text).toBe(nodeTokens.join(''));
  }, 240_000);

  it('reopens a connection dropped mid-tensor where it broke, and still matches', async () => {
    const file = [...checkpoint.keys()].find((p) => p.endsWith('00002.safetensors'))!;
    // Requests 1 and 2 read the header; the third is the data pass's stream.
    // Sent in small paced pieces, so the worker has taken most of the file when the connection breaks.
    server.faults.push(
      { path: file, fault: { kind: 'drop', at: size(file) - 100 }, times: 1, after: 2 },
      { path: file, fault: { kind: 'slow', bytesPerTick: 4096, tickMs: 25 }, times: 1, after: 2 },
    );
    server.requests.length = 0;
    server.resetCounts();
    const run = await call('convert', { ref: ref(), id: 'converted/drop', chunkSize: 64 * 1024, ...choices });
    server.faults.length = 0;
    expect(run.error).toBeNull();
    const reopened = streams().filter(([f]) => f === file);
    expect(reopened[0], JSON.stringify(reopened)).toEqual([file, 0]);
    expect(reopened, JSON.stringify(reopened)).toHaveLength(2);
    // Reopened near where it broke (bytes in flight when the socket closed may be lost), not from the start.
    expect(reopened[1]![1], JSON.stringify(reopened)).toBeGreaterThan(size(file) / 2);
    expect(tensorBytesSent()).toBeGreaterThanOrEqual(fullTensorBytes);
    expect(tensorBytesSent()).toBeLessThan(fullTensorBytes + size(file) / 2);
    const stored = await call('records', 'converted/drop');
    expect(stored.find((r) => r.path === 'manifest.json')?.sha256).toBe(
      sha256(nodeOut.get('manifest.json')!),
    );
  }, 240_000);

  it('fetches a file served with a wrong byte once more; `integrity` when the second copy is wrong too', async () => {
    const file = [...checkpoint.keys()].filter((p) => p.endsWith('.safetensors')).sort()[0]!;
    const corrupt = { path: file, fault: { kind: 'corrupt', offset: size(file) - 10 }, after: 2 } as const;
    server.faults.push({ ...corrupt, times: 1 });
    server.resetCounts();
    const healed = await call('convert', {
      ref: ref(),
      id: 'converted/healed',
      chunkSize: 64 * 1024,
      ...choices,
    });
    server.faults.length = 0;
    expect(healed.error).toBeNull();
    expect(tensorBytesSent()).toBe(fullTensorBytes + size(file));
    const stored = await call('records', 'converted/healed');
    expect(stored.map((r) => r.sha256)).toEqual(
      [...nodeOut.keys()].sort().map((p) => sha256(nodeOut.get(p)!)),
    );

    server.faults.push({ ...corrupt, times: 2 });
    server.resetCounts();
    const bad = await call('convert', { ref: ref(), id: 'converted/bad', chunkSize: 64 * 1024, ...choices });
    server.faults.length = 0;
    expect(bad.error?.code).toBe('integrity');
    expect(bad.error?.message).toMatch(/wrong content/);
    expect(server.bytesSent(file)).toBeLessThan(3 * size(file));
    expect((await call('list')).some((m) => m.id === 'local:converted/bad')).toBe(false);
  }, 240_000);

  it('resumes after the tab closed mid-conversion at the first unfinished tensor, refetching no finished one', async () => {
    expect(fullTensorBytes).toBeGreaterThan(0);
    const files = [...checkpoint.keys()].filter((p) => p.endsWith('.safetensors')).sort();
    server.resetCounts();
    // Killed after 40 tensors, mid-conversion.
    const killed = await call(
      'convert',
      { ref: ref(), id: 'converted/killed', chunkSize: 64 * 1024, ...choices },
      undefined,
      40,
    );
    expect(killed.error?.message).toBe('terminated');
    expect((await call('list')).some((m) => m.id === 'local:converted/killed')).toBe(false);
    server.resetCounts();
    server.requests.length = 0;
    const again = await call('convert', {
      ref: ref(),
      id: 'converted/killed',
      chunkSize: 64 * 1024,
      ...choices,
    });
    expect(again.error).toBeNull();
    const stored = await call('records', 'converted/killed');
    expect(stored.map((r) => r.sha256)).toEqual(
      [...nodeOut.keys()].sort().map((p) => sha256(nodeOut.get(p)!)),
    );
    // The second run streams from where the first stopped: no file the first one finished, the file it was in from
    // a byte past its finished tensors (no byte before it again), the rest whole.
    const resumedAt = streams();
    expect(resumedAt.map(([f]) => f)).toEqual(files.slice(files.length - resumedAt.length));
    expect(resumedAt.slice(1).every(([, at]) => at === 0)).toBe(true);
    const skipped = files
      .slice(0, files.length - resumedAt.length)
      .reduce((n, f) => n + size(f), resumedAt[0]![1]);
    expect(skipped).toBeGreaterThan(0);
    expect(tensorBytesSent()).toBe(fullTensorBytes - skipped);
  }, 240_000);

  it('refuses a plan over the storage quota before any tensor byte, naming the sizes', async () => {
    // Chromium reports quota as usage + 10 GiB whatever is stored, so a plan over it needs a big model: a sparse
    // replica of llava-hf/llava-1.5-7b-hf (its published config; safetensors headers with its tensor names and
    // shapes, listed at their full size) converted to fp16 needs ~16 GB. Only the header bytes exist.
    const saved = new Map(server.files);
    const tiny = JSON.parse(new TextDecoder().decode(saved.get('config.json'))) as {
      image_token_index: number;
    };
    const big = { ...LLAVA15_7B.config, image_token_index: tiny.image_token_index };
    const header: Record<string, unknown> = {};
    let offset = 0;
    for (const spec of listWeights(readSourceConfig(big).config)) {
      const bytes = 2 * spec.dims.reduce((a, b) => a * b, 1);
      header[spec.name] = { dtype: 'BF16', shape: spec.dims, data_offsets: [offset, offset + bytes] };
      offset += bytes;
    }
    let json = JSON.stringify(header);
    json += ' '.repeat((8 - (json.length % 8)) % 8);
    const file = new Uint8Array(8 + json.length);
    new DataView(file.buffer).setBigUint64(0, BigInt(json.length), true);
    file.set(new TextEncoder().encode(json), 8);
    for (const p of saved.keys()) if (p.includes('safetensors')) server.files.delete(p);
    server.files.set('config.json', new TextEncoder().encode(JSON.stringify(big)));
    server.files.set('model.safetensors', file);
    server.listedSizes.set('model.safetensors', file.byteLength + offset);
    server.resetCounts();
    const refused = await call('convert', {
      ref: ref(),
      id: 'converted/quota',
      quant: 'fp16',
      visionQuant: 'fp32',
    });
    server.files.clear();
    for (const [p, b] of saved) server.files.set(p, b);
    server.listedSizes.clear();
    expect(refused.error?.code).toBe('quota-exceeded');
    expect(refused.error?.message).toMatch(/GB/);
    expect(refused.phases).toEqual(['plan']);
    // The plan (tensor bytes to fetch, storage) comes from the config and headers: the published ~14 GB of bf16.
    expect(refused.plan?.downloadBytes).toBeGreaterThan(13e9);
    expect(refused.plan?.storageBytes).toBeGreaterThan(11 * 2 ** 30);
    expect(server.bytesSent('model.safetensors')).toBe(8 + json.length);
    expect((await call('list')).some((m) => m.id === 'local:converted/quota')).toBe(false);
  }, 120_000);

  it('refuses an unknown architecture and a pickle-only repo before any tensor byte', async () => {
    const original = server.files.get('config.json')!;
    const next = JSON.parse(new TextDecoder().decode(original)) as Record<string, unknown>;
    next.architectures = ['LlavaNextForConditionalGeneration'];
    next.model_type = 'llava_next';
    server.files.set('config.json', new TextEncoder().encode(JSON.stringify(next)));
    server.resetCounts();
    const unknown = await call('convert', { ref: ref(), id: 'converted/next', ...choices });
    expect(unknown.error?.code).toBe('unsupported');
    expect(unknown.error?.message).toMatch(/llava_next|LLaVA-NeXT|LlavaNext/i);
    expect(tensorBytesSent()).toBe(0);
    server.files.set('config.json', original);

    for (const p of checkpoint.keys()) if (p.includes('safetensors')) server.files.delete(p);
    server.files.set('pytorch_model-00001-of-00002.bin', new Uint8Array(4096));
    server.resetCounts();
    const pickle = await call('convert', { ref: ref(), id: 'converted/pickle', ...choices });
    expect(pickle.error?.code).toBe('unsupported');
    expect(pickle.error?.message).toMatch(/pickle/);
    expect(server.bytesSent('pytorch_model-00001-of-00002.bin')).toBe(0);
    expect(
      (await call('list')).some((m) => ['local:converted/next', 'local:converted/pickle'].includes(m.id)),
    ).toBe(false);
  }, 120_000);
});
