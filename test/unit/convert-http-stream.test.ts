// The in-browser converter's streaming read of a checkpoint file (src/store/http-checkpoint-source.ts): one Range
// request from the data pass's first byte, reopened at the exact byte where a dropped or stalled connection stopped,
// never from the start; after three failures in a row it gives up with `download-failed`. The server is a fetch
// stand-in that serves real bytes and breaks as told.
import { describe, expect, it } from 'vitest';
import type { SequentialReader } from '../../src/modelgen/convert/byte-source';
import { httpSourceFolder } from '../../src/store/http-checkpoint-source';

const FILE = Uint8Array.from({ length: 10_000 }, (_, i) => (i * 7) % 251);

/** A fetch answering `bytes=N-` from FILE in 1,000-byte chunks; `breaks[k]` makes request k drop or stall after n bytes. */
function server(breaks: Array<{ kind: 'drop' | 'stall'; after: number } | null>) {
  const ranges: string[] = [];
  const fetch = (_url: string, init?: RequestInit): Promise<Response> => {
    const range = new Headers(init?.headers).get('range') ?? '';
    ranges.push(range);
    const start = Number(/^bytes=(\d+)-$/.exec(range)?.[1]);
    const fault = breaks[ranges.length - 1] ?? null;
    let at = start;
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        if (fault !== null && sent >= fault.after) {
          if (fault.kind === 'drop') controller.error(new TypeError('network error'));
          else
            await new Promise<void>((resolve) =>
              init?.signal?.addEventListener('abort', () => {
                controller.error(init.signal?.reason);
                resolve();
              }),
            );
          return;
        }
        if (at >= FILE.byteLength) return controller.close();
        const n = Math.min(1000, FILE.byteLength - at, fault === null ? Infinity : fault.after - sent);
        controller.enqueue(FILE.slice(at, at + n));
        at += n;
        sent += n;
      },
    });
    return Promise.resolve(new Response(body, { status: 206 }));
  };
  return { fetch, ranges };
}

const folder = (fetch: ReturnType<typeof server>['fetch']) =>
  httpSourceFolder({
    label: 'test/repo',
    files: [{ path: 'model.safetensors', size: FILE.byteLength }],
    url: (p) => `http://hub.test/${p}`,
    fetch,
    stallMs: 50,
  });

/** The next `length` bytes of `reader`, copied out of the pieces it hands (views valid only while handed). */
async function collect(reader: SequentialReader, length: number): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  let at = 0;
  await reader.pieces(length, (piece) => {
    out.set(piece, at);
    at += piece.byteLength;
  });
  return out;
}

describe('streaming a checkpoint file', () => {
  it('reopens a dropped and a stalled connection at the byte where it stopped', async () => {
    const s = server([{ kind: 'drop', after: 3500 }, { kind: 'stall', after: 2000 }, null]);
    const reader = folder(s.fetch).open('model.safetensors').stream!(1000);
    const a = await collect(reader, 4000);
    const b = await collect(reader, 5000);
    reader.close();
    expect(a).toEqual(FILE.slice(1000, 5000));
    expect(b).toEqual(FILE.slice(5000, 10_000));
    expect(s.ranges).toEqual(['bytes=1000-', 'bytes=4500-', 'bytes=6500-']);
  });

  it('gives up after three failures in a row with download-failed', async () => {
    const s = server([
      { kind: 'drop', after: 0 },
      { kind: 'drop', after: 0 },
      { kind: 'drop', after: 0 },
    ]);
    const reader = folder(s.fetch).open('model.safetensors').stream!(0);
    const error = await collect(reader, 100).catch((e: unknown) => e);
    expect((error as { code?: string }).code).toBe('download-failed');
    expect((error as Error).message).toMatch(/model\.safetensors.*Resume/);
    expect(s.ranges).toEqual(['bytes=0-', 'bytes=0-', 'bytes=0-']);
  });
});
