// Access to hub repositories and answers that ask to wait: the hub token goes to the hub host only (never to the CDN
// a download is redirected to), gated / private / not-found / bad-token refusals each say what to do, a 403 from an
// expired CDN URL re-resolves (bounded), and Retry-After is obeyed up to a cap. Asserted on the server's request log.
import { describe, expect, it } from 'vitest';
import { ensureCached, type EnsureCachedOptions } from '../../src/store/ensure-cached';
import { authHeaders, retryAfterMs } from '../../src/store/http';
import type { ModelRef } from '../../src/shared/protocol';
import { CHUNK, expectNothingCorrupt, freshStore, modelFolder } from './helpers/store-fixtures';
import { type HubAccess, serversClosedAfterEach, type StoreTestServer } from './helpers/store-server';

const startServer = serversClosedAfterEach();
const REPO = 'test-org/tiny-llava';
const TOKEN = 'hf_test_token_0123456789';

const hubRef = (s: StoreTestServer, repo = REPO): ModelRef => ({
  kind: 'hub',
  repo,
  endpoint: s.hubEndpoint,
});

function options(extra: EnsureCachedOptions = {}): EnsureCachedOptions {
  return { store: freshStore(), chunkSize: CHUNK, storage: null, retryBaseMs: 1, dtype: 'fp32', ...extra };
}

async function refusal(access: HubAccess | undefined, token: string | null, repo = REPO): Promise<string> {
  const server = await startServer(modelFolder(), access ? { access } : {});
  const error = await ensureCached(hubRef(server, repo), options({ hubToken: token })).catch(
    (e: unknown) => e,
  );
  expect(error).toMatchObject({ code: 'download-failed' });
  // Refused at the file list: no file request was made.
  expect(server.seen.filter((r) => r.route !== 'hub-api')).toEqual([]);
  return (error as Error).message;
}

describe('hub token', () => {
  it('goes to the hub host on every hub request and never to the CDN host it redirects to', async () => {
    const files = modelFolder();
    const server = await startServer(files, {
      cdnHost: 'localhost',
      access: { mode: 'private', token: TOKEN },
    });
    const store = freshStore();
    await ensureCached(hubRef(server), options({ store, hubToken: TOKEN }));
    await expectNothingCorrupt(store, REPO, files);

    const hubHost = new URL(server.hubEndpoint).host;
    const hub = server.seen.filter((r) => r.route === 'hub-api' || r.route === 'resolve');
    const cdn = server.seen.filter((r) => r.route === 'cdn');
    expect(hub.length).toBeGreaterThan(3);
    expect(cdn.length).toBeGreaterThan(0);
    for (const r of hub) {
      expect(r.host).toBe(hubHost);
      expect(r.authorization, r.path).toBe(`Bearer ${TOKEN}`);
    }
    for (const r of cdn) {
      expect(r.host).not.toBe(hubHost);
      expect(r.authorization, r.path).toBeNull();
    }
  });

  it('is never sent to a model folder on another host, nor for a hub model without a token', async () => {
    const files = modelFolder();
    const server = await startServer(files);
    await ensureCached({ kind: 'url', baseUrl: server.folderUrl, id: 'tiny' }, options({ hubToken: TOKEN }));
    await ensureCached(hubRef(server), options({ hubToken: null }));
    expect(server.seen.length).toBeGreaterThan(5);
    expect(server.seen.filter((r) => r.authorization !== null)).toEqual([]);
  });

  it('is attached only to URLs on the hub endpoint host', () => {
    expect(authHeaders('https://huggingface.co/a/b/resolve/main/x', 'huggingface.co', TOKEN)).toEqual({
      authorization: `Bearer ${TOKEN}`,
    });
    expect(authHeaders('https://cdn-lfs.huggingface.co/x', 'huggingface.co', TOKEN)).toEqual({});
    expect(authHeaders('https://huggingface.co.evil.example/x', 'huggingface.co', TOKEN)).toEqual({});
    expect(authHeaders('http://huggingface.co:8080/x', 'huggingface.co', TOKEN)).toEqual({});
    expect(authHeaders('https://huggingface.co/x', 'huggingface.co', undefined)).toEqual({});
  });
});

describe('refusals say what to do', () => {
  it('gated, private, not found and a bad token get different messages', async () => {
    const gatedAnonymous = await refusal({ mode: 'gated', token: TOKEN }, null);
    expect(gatedAnonymous).toMatch(/gated.*accept its terms.*access token.*Settings/);
    const gatedNotGranted = await refusal({ mode: 'gated', token: TOKEN, granted: false }, TOKEN);
    expect(gatedNotGranted).toMatch(/gated.*no access yet.*accept its terms/);
    const privateAnonymous = await refusal({ mode: 'private', token: TOKEN }, null);
    expect(privateAnonymous).toMatch(/private or its name is misspelt.*access token in Settings/);
    const badToken = await refusal({ mode: 'private', token: TOKEN }, 'hf_wrong');
    expect(badToken).toMatch(/did not accept your access token/);
    const notFound = await refusal(undefined, TOKEN, 'nobody/nothing');
    expect(notFound).toMatch(/no such repository.*404/);
    const messages = [gatedAnonymous, gatedNotGranted, privateAnonymous, badToken, notFound];
    expect(new Set(messages).size).toBe(messages.length);
    for (const m of messages) expect(m).not.toContain(TOKEN);
  });

  it('a gated repository downloads once the token has access', async () => {
    const files = modelFolder();
    const server = await startServer(files, { access: { mode: 'gated', token: TOKEN, granted: true } });
    const store = freshStore();
    await ensureCached(hubRef(server), options({ store, hubToken: TOKEN }));
    await expectNothingCorrupt(store, REPO, files);
  });
});

describe('answers that change on asking again', () => {
  it('a 403 from the CDN (expired signed URL) resolves the file again and goes on', async () => {
    const files = modelFolder();
    const server = await startServer(files);
    server.refuseCdn(1);
    const store = freshStore();
    await ensureCached(hubRef(server), options({ store, concurrency: 1, hubToken: null }));
    await expectNothingCorrupt(store, REPO, files);
    const first = server.seen.findIndex((r) => r.route === 'cdn');
    expect(server.seen[first]?.status).toBe(403);
    const file = server.seen[first]?.path.replace(/^\/cdn\/\d+\//, '');
    // Then the hub's resolve URL again (a fresh redirect), then the CDN answering.
    expect(server.seen[first + 1]).toMatchObject({ route: 'resolve', status: 302 });
    expect(server.seen[first + 1]?.path.endsWith(`/${file}`)).toBe(true);
    expect(server.seen[first + 2]).toMatchObject({ route: 'cdn', status: 200 });
  });

  it('a CDN that keeps refusing ends the download after a few fresh resolves', async () => {
    const server = await startServer(modelFolder());
    server.refuseCdn(1000);
    const error = await ensureCached(hubRef(server), options({ concurrency: 1, hubToken: null })).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'download-failed', message: expect.stringContaining('403') });
    expect(server.seen.filter((r) => r.route === 'cdn').length).toBe(4);
  });

  it('429 with Retry-After: the next request waits that long; a huge Retry-After is capped', async () => {
    const files = modelFolder();
    const path = 'onnx/embed_tokens.onnx';
    const server = await startServer(files);
    server.faults.push({ path, fault: { kind: 'status', status: 429, retryAfter: '1' }, times: 1 });
    await ensureCached({ kind: 'url', baseUrl: server.folderUrl, id: 'tiny' }, options({ retryBaseMs: 1 }));
    const [refused, retried] = server.requests.filter((r) => r.path === path);
    expect(refused?.status).toBe(429);
    expect(retried?.status).toBe(200);
    // Backoff alone would have retried after 1 ms.
    expect((retried?.at ?? 0) - (refused?.at ?? 0)).toBeGreaterThanOrEqual(950);

    server.resetCounts();
    server.faults.length = 0;
    server.faults.push({ path, fault: { kind: 'status', status: 503, retryAfter: '3600' }, times: 1 });
    const t0 = performance.now();
    await ensureCached(
      { kind: 'url', baseUrl: server.folderUrl, id: 'tiny' },
      options({ retryBaseMs: 1, maxRetryAfterMs: 300 }),
    );
    const [again, ok] = server.requests.filter((r) => r.path === path);
    expect(again?.status).toBe(503);
    expect((ok?.at ?? 0) - (again?.at ?? 0)).toBeGreaterThanOrEqual(280);
    expect(performance.now() - t0).toBeLessThan(20_000);
  });

  it('reads Retry-After as seconds or as an HTTP date, and ignores what it cannot read', () => {
    expect(retryAfterMs('3')).toBe(3000);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(retryAfterMs('soon')).toBeNull();
    expect(retryAfterMs(null)).toBeNull();
  });
});
