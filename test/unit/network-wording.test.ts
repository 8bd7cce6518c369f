// A failed download says what happened: "Lost the connection" only when the server had answered; a request that never
// reached it says it could not be reached, and an offline device says it is offline — through the store's real
// document fetch (fetchJson) with a fetch that fails the way a browser's does.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { fetchJson, networkError } from '../../src/store/http';

const failing = () => Promise.reject(new TypeError('Failed to fetch'));
const caught = async (p: Promise<unknown>) =>
  p.then(
    () => null,
    (e: unknown) => e as { code: string; message: string },
  );

afterEach(() => vi.unstubAllGlobals());

describe('network failure wording', () => {
  it('a request that never connected does not claim a lost connection', async () => {
    vi.stubGlobal('navigator', { onLine: true });
    const error = await caught(
      fetchJson(failing, 'https://huggingface.co/api/models/x/tree/main', 'the file list', { retries: 0 }),
    );
    expect(error?.code).toBe('download-failed');
    expect(error?.message).toMatch(/^Could not reach huggingface\.co to download the file list/);
    expect(error?.message).not.toContain('Lost the connection');
  });

  it('an offline device is told it is offline', async () => {
    vi.stubGlobal('navigator', { onLine: false });
    const error = await caught(
      fetchJson(failing, 'https://huggingface.co/x', 'the file list', { retries: 0 }),
    );
    expect(error?.message).toMatch(
      /^This device is offline, so the file list could not be downloaded from huggingface\.co/,
    );
  });

  it('a transfer that had begun says the connection was lost', () => {
    vi.stubGlobal('navigator', { onLine: true });
    const error = networkError(
      new TypeError('network error'),
      'https://cdn.example/x.onnx',
      'x.onnx',
    ) as Error;
    expect(error.message).toMatch(/^Lost the connection to cdn\.example while downloading x\.onnx/);
  });
});
