// The store test server's paced mode (a link of a set speed, used by test/bench/store-throughput.ts): a paced body
// arrives whole and no faster than the pace allows, and pacing can be switched off again on the same server.
import { describe, expect, it } from 'vitest';
import { seededBytes } from './helpers/store-fixtures';
import { serversClosedAfterEach, sha256Hex } from './helpers/store-server';

const startServer = serversClosedAfterEach();

async function timedFetch(url: string): Promise<{ bytes: Uint8Array; ms: number }> {
  const t0 = performance.now();
  const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
  return { bytes, ms: performance.now() - t0 };
}

describe('store test server pacing', () => {
  it('sends a body at the set rate, byte for byte, and at full speed once pacing is off', async () => {
    const file = seededBytes(3_000_000, 7);
    const server = await startServer(new Map([['big.bin', file]]));
    const url = `${server.folderUrl}big.bin`;
    server.pace = 2_000_000; // 2 MB/s: 3 MB less the 256 KiB burst takes ≥ 1.37 s
    const paced = await timedFetch(url);
    expect(sha256Hex(paced.bytes)).toBe(sha256Hex(file));
    expect(paced.ms).toBeGreaterThanOrEqual(1300);
    expect(server.bytesSent('big.bin')).toBe(file.byteLength);
    server.pace = null;
    const free = await timedFetch(url);
    expect(sha256Hex(free.bytes)).toBe(sha256Hex(file));
    // Unpaced it is not held to 2 MB/s; compared with the paced fetch, not with a wall-clock guess.
    expect(free.ms).toBeLessThan(paced.ms);
  });
});
