// openBodyReader: a byte stream (as browsers' fetch bodies are) is read with BYOB into one reused buffer, any other
// stream with the default reader; both hand over every byte in order.
import { describe, expect, it } from 'vitest';
import { openBodyReader } from '../../src/store/body-reader';

const pieces = [new Uint8Array([1, 2, 3]), new Uint8Array(5000).fill(7), new Uint8Array([9])];
const whole = Uint8Array.from(pieces.flatMap((p) => [...p]));

async function readAll(body: ReadableStream<Uint8Array>, bufferSize?: number) {
  const reader = openBodyReader(body, bufferSize);
  const seen: { bytes: number[]; capacity: number }[] = [];
  for (let piece = await reader.read(); piece; piece = await reader.read())
    seen.push({ bytes: [...piece], capacity: piece.buffer.byteLength });
  reader.release();
  return { bytes: seen.flatMap((s) => s.bytes), capacities: seen.map((s) => s.capacity) };
}

describe('openBodyReader', () => {
  it('reads a byte stream with BYOB into its own buffer of the given size, every byte in order', async () => {
    const queue = [...pieces];
    const body = new ReadableStream<Uint8Array>({
      type: 'bytes',
      pull(controller) {
        const next = queue.shift();
        if (next) return controller.enqueue(next.slice());
        controller.close();
        (controller as ReadableByteStreamController).byobRequest?.respond(0); // a byte stream ends a waiting BYOB read this way, as fetch bodies do
      },
    });
    const read = await readAll(body, 4096);
    expect(read.bytes).toEqual([...whole]);
    // Every piece is a view into a 4096-byte buffer (the reused one), never one of the enqueued buffers.
    expect(new Set(read.capacities)).toEqual(new Set([4096]));
    expect(read.capacities.length).toBeGreaterThanOrEqual(3); // 5009 bytes do not fit one 4096-byte read
  });

  it('falls back to the default reader for a stream that is not a byte stream', async () => {
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const p of pieces) controller.enqueue(p.slice());
        controller.close();
      },
    });
    const read = await readAll(body, 4096);
    expect(read.bytes).toEqual([...whole]);
    expect(read.capacities).toEqual(pieces.map((p) => p.byteLength));
  });
});
