// Owns measuring this machine's memory bandwidth from Node: a large Float64Array summed (reads only) and copied
// (TypedArray.set, i.e. memcpy: reads + writes), on one thread and on every core at once. Node-only.

import os from 'node:os';
import { Worker } from 'node:worker_threads';

export interface Bandwidth {
  /** Bytes per second read by one thread summing a large array. */
  sumOneThread: number;
  /** Bytes per second (read + written) of one thread copying a large array. */
  copyOneThread: number;
  /** The same on `threads` threads at once, summed over threads. */
  sumAllThreads: number;
  copyAllThreads: number;
  threads: number;
  /** The best of the above: what a decoder could at most stream its weights at. */
  best: number;
}

// Runs in each worker: allocate, warm up, then time `rounds` passes and report the best pass.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const n = workerData.bytes / 8;
const a = new Float64Array(n);
const b = new Float64Array(n);
for (let i = 0; i < n; i++) a[i] = i & 1023;
function sum() {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  for (let i = 0; i < n; i += 4) { s0 += a[i]; s1 += a[i + 1]; s2 += a[i + 2]; s3 += a[i + 3]; }
  return s0 + s1 + s2 + s3;
}
parentPort.on('message', (kind) => {
  let best = Infinity, sink = 0;
  for (let r = 0; r < workerData.rounds; r++) {
    const t0 = performance.now();
    if (kind === 'sum') sink += sum(); else b.set(a);
    best = Math.min(best, performance.now() - t0);
  }
  parentPort.postMessage({ ms: best, sink: sink + b[1] });
});
`;

interface Timed {
  ms: number;
}

async function timeOn(workers: Worker[], kind: 'sum' | 'copy'): Promise<number> {
  const results = await Promise.all(
    workers.map(
      (w) =>
        new Promise<Timed>((resolve) => {
          w.once('message', resolve);
          w.postMessage(kind);
        }),
    ),
  );
  return Math.max(...results.map((r) => r.ms));
}

function spawn(count: number, bytes: number, rounds: number): Worker[] {
  return Array.from(
    { length: count },
    () => new Worker(WORKER_SOURCE, { eval: true, workerData: { bytes, rounds } }),
  );
}

/**
 * Measures bandwidth with arrays of `bytes` each (far larger than any CPU cache). Each figure is the best of
 * `rounds` passes, which is what an uncontended run would see; other processes on the machine only lower it.
 */
export async function measureBandwidth(bytes = 512 * 1024 * 1024, rounds = 5): Promise<Bandwidth> {
  const threads = Math.max(1, os.availableParallelism());
  const one = spawn(1, bytes, rounds);
  const sumOne = await timeOn(one, 'sum');
  const copyOne = await timeOn(one, 'copy');
  await Promise.all(one.map((w) => w.terminate()));
  const all = spawn(threads, bytes / threads, rounds);
  const sumAll = await timeOn(all, 'sum');
  const copyAll = await timeOn(all, 'copy');
  await Promise.all(all.map((w) => w.terminate()));
  const perS = (b: number, ms: number) => (b / ms) * 1000;
  const result = {
    sumOneThread: perS(bytes, sumOne),
    copyOneThread: perS(2 * bytes, copyOne),
    sumAllThreads: perS(bytes, sumAll),
    copyAllThreads: perS(2 * bytes, copyAll),
    threads,
  };
  return {
    ...result,
    best: Math.max(result.sumOneThread, result.copyOneThread, result.sumAllThreads, result.copyAllThreads),
  };
}
