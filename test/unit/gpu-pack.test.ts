// The GPU benchmark pack (test/bench/gpu-pack): built as `npm run bench:gpu:pack` builds it (Node and Dawn from the
// npm registry, cached in .cache/gpu-pack), it must fit the GPU machine's 60 MiB and its bundle must run end to end
// on the WASM backend, through the engine, to a table with finite numbers in every measured row.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPack, PACK_LIMIT_BYTES, type PackResult } from '../bench/gpu-pack/build-pack';

const run = promisify(execFile);
const repoRoot = path.resolve(import.meta.dirname, '../..');
let out: string;
let pack: PackResult;

beforeAll(async () => {
  out = mkdtempSync(path.join(os.tmpdir(), 'gpu-pack-test-'));
  pack = await buildPack(path.join(out, 'pack'), path.join(repoRoot, '.cache/gpu-pack'));
}, 300_000);

afterAll(() => {
  if (out) rmSync(out, { recursive: true, force: true });
});

/** The cells of the table row whose first cell starts with `metric`. */
function row(table: string, metric: string): string[] {
  const line = table.split('\n').find((l) => l.startsWith(`| ${metric}`));
  if (!line) throw new Error(`no row "${metric}" in:\n${table}`);
  return line
    .split('|')
    .slice(2, -1)
    .map((c) => c.trim());
}

/** The first number of a cell ("442 (645 tok)" → 442). */
const lead = (cell: string): number => Number.parseFloat(cell);

describe('GPU benchmark pack', () => {
  it('fits the 60 MiB a GPU machine takes along and carries every piece', () => {
    expect(pack.bytes).toBeLessThanOrEqual(PACK_LIMIT_BYTES);
    expect(Object.keys(pack.files).sort()).toEqual([
      'bench.mjs',
      'node/node.gz',
      'ort/ort-wasm-simd-threaded.jsep.mjs',
      'ort/ort-wasm-simd-threaded.jsep.wasm.gz',
      'ort/ort-wasm-simd-threaded.mjs',
      'ort/ort-wasm-simd-threaded.wasm.gz',
      'run.sh',
      'vulkan/libvulkan.so.1',
      'webgpu/dist/linux-x64/dawn.node.gz',
      'webgpu/index.js',
      'webgpu/package.json',
    ]);
    // A real linux-x64 Node (ELF, x86-64) and Dawn, not an empty placeholder.
    const node = gunzipSync(readFileSync(path.join(pack.dir, 'node/node.gz')));
    expect(node.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
    expect(node.readUInt16LE(18)).toBe(0x3e);
    expect(node.byteLength).toBeGreaterThan(50 * 2 ** 20);
    expect(statSync(path.join(pack.dir, 'webgpu/dist/linux-x64/dawn.node.gz')).size).toBeGreaterThan(2 ** 20);
    expect(statSync(path.join(pack.dir, 'run.sh')).mode & 0o111).not.toBe(0);
  });

  it('runs end to end on the WASM backend (--quick) to one table', async () => {
    // This machine's Node runs the bundle (the carried one is the same program, 100 MB to unpack).
    const { stdout } = await run('bash', [path.join(pack.dir, 'run.sh'), '--backend', 'wasm', '--quick'], {
      env: { ...process.env, PACK_NODE: process.execPath, OUT: '' },
      timeout: 240_000,
      maxBuffer: 16 * 2 ** 20,
    });
    expect(stdout).toContain('WASM, --quick');
    const header = stdout.split('\n').find((l) => l.startsWith('|  |')) ?? '';
    expect(header).toContain('1 layer');
    expect(header).toContain('2 layers');
    expect(header).toContain('32 layers (extrapolated)');
    expect(row(stdout, 'measured bandwidth')[0]).toMatch(/^\d+(\.\d+)? GB\/s/);

    // The two measured columns (the third, extrapolated from them, may say n/a when the CPU was too noisy).
    const measured = (metric: string) => row(stdout, metric).slice(0, 2);
    const vision = measured('vision encode ms').map(lead);
    const prefill = measured('prefill tok/s');
    const short = measured('decode tok/s near 600').map(lead);
    const long = measured('decode tok/s near 2,000');
    const followUp = measured('follow-up first token ms');
    for (const v of [...vision, ...short]) expect(v).toBeGreaterThan(0);
    // 576 image tokens (336 px / 14 px patches) + about 40 words, and about 2,000 tokens of context.
    for (const cell of prefill) {
      expect(lead(cell)).toBeGreaterThan(0);
      expect(Number(/\((\d+) tok\)/.exec(cell)?.[1])).toBeGreaterThanOrEqual(576 + 40);
    }
    for (const cell of long) {
      expect(lead(cell)).toBeGreaterThan(0);
      expect(Number(/ctx (\d+)/.exec(cell)?.[1])).toBeGreaterThanOrEqual(1950);
    }
    // The follow-up reused the conversation's KV cache and started sooner than a re-prefill.
    for (const cell of followUp) {
      const [, reuse, again, reused] = /^(\d+) vs (\d+) \((\d+)\//.exec(cell) ?? [];
      expect(Number(reused)).toBeGreaterThan(600);
      expect(Number(reuse)).toBeLessThan(Number(again));
    }
  }, 300_000);
});
