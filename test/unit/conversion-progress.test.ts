// The conversion card's progress (src/ui/lib/conversion-progress.ts) over a whole job as the worker reports it:
// phases in order, tensor k of n, source bytes of the plan's download, rate and time left, a bar that only moves
// forward, and a resumed run starting where the interrupted one stopped.
import { describe, expect, it } from 'vitest';
import type { ConversionPlan } from '../../src/modelgen/convert/conversion-plan';
import type { ConvertWorkerEvent } from '../../src/store/hub-conversion-protocol';
import { ConversionTracker } from '../../src/ui/lib/conversion-progress';

const plan: ConversionPlan = {
  downloadBytes: 1_000_000,
  tensors: 10,
  largestTensorBytes: 400_000,
  dtypes: { vision_encoder: 'q4', embed_tokens: 'fp32', decoder: 'q4' },
  outputBytes: { vision_encoder: 50_000, embed_tokens: 100_000, decoder: [100_000] },
  storageBytes: 350_000,
  gpuBytes: 1,
  shards: [],
};
const progress = (event: object): ConvertWorkerEvent => ({ type: 'progress', event }) as ConvertWorkerEvent;
const bytes = (n: number, path = 'model.safetensors'): ConvertWorkerEvent => ({
  type: 'bytes',
  path,
  bytes: n,
});
const stored = (n: number): ConvertWorkerEvent => ({ type: 'stored', path: 'onnx/x_data', bytes: n });
const check = (loaded: number): ConvertWorkerEvent => ({ type: 'check', loaded, total: 250_000 });

/** A whole job, 100 ms between events; what the card shows after each. */
function run(events: ConvertWorkerEvent[]): ReturnType<ConversionTracker['view']>[] {
  let t = 0;
  const tracker = new ConversionTracker(() => t);
  const views = [tracker.view()];
  for (const e of events) {
    t += 100;
    tracker.apply(e);
    views.push(tracker.view());
  }
  return views;
}

const tensors = (from: number, to: number): ConvertWorkerEvent[] =>
  Array.from({ length: to - from + 1 }, (_, i) => [
    bytes(100_000),
    progress({ kind: 'tensor', done: from + i, total: 10, tensor: `t${from + i}` }),
  ]).flat();

describe('conversion progress', () => {
  it('goes through the plan, the data pass, writing and checking with one bar that never goes back', () => {
    const views = run([
      bytes(5_000, 'config.json'),
      bytes(300, 'model.safetensors'),
      progress({ kind: 'plan', plan }),
      ...tensors(1, 5),
      stored(120_000),
      ...tensors(6, 10),
      stored(130_000),
      progress({ kind: 'done', dir: 'x' }),
      { type: 'done', id: 'x', files: 9, bytes: 250_000 },
      check(100_000),
      check(250_000),
    ]);
    expect(views[0]).toMatchObject({ phase: 'plan', fraction: null });
    expect(views[0]!.text).toMatch(/^Reading the plan: /);
    // The plan's header reads are not the download's bytes; the plan's phase lasts until the first tensor byte.
    expect(views[3]).toMatchObject({ phase: 'plan', sourceBytes: 0, downloadBytes: 1_000_000, fraction: 0 });
    expect(views[4]).toMatchObject({ phase: 'convert', sourceBytes: 100_000 });
    const phases = views.map((v) => v.phase).filter((p, i, all) => p !== all[i - 1]);
    expect(phases).toEqual(['plan', 'convert', 'write', 'convert', 'write', 'check']);
    const mid = views[10]!;
    expect(mid.text).toMatch(
      /^Downloading and converting: tensor 3 of 10, 391 KB of 977 KB, 5\d\d KB\/s, [12] s left$/,
    );
    expect(views.find((v) => v.phase === 'write')?.text).toMatch(
      /^Writing the converted files: 117 KB stored, /,
    );
    expect(views.at(-3)!.text).toMatch(/^Checking the converted files: 0 B of 244 KB, /);
    expect(views.at(-1)!.text).toMatch(/^Checking the converted files: 244 KB of 244 KB, /);
    const fractions = views.map((v) => v.fraction ?? 0);
    for (let i = 1; i < fractions.length; i++) expect(fractions[i]).toBeGreaterThanOrEqual(fractions[i - 1]!);
    expect(fractions.at(-1)).toBe(1);
    expect(views.filter((v) => v.phase === 'convert').at(-1)!.sourceBytes).toBe(1_000_000);
  });

  it('resumes at the bytes and stored output an interrupted run kept', () => {
    const views = run([
      progress({ kind: 'plan', plan }),
      progress({ kind: 'resume', sourceBytes: 600_000, storedBytes: 120_000 }),
      ...tensors(7, 10),
    ]);
    expect(views[1]).toMatchObject({ phase: 'plan' });
    expect(views[2]).toMatchObject({ phase: 'convert', sourceBytes: 600_000 });
    // The kept work is where this run starts, not part of its pace.
    expect(views[2]!.text).toBe('Downloading and converting: 586 KB of 977 KB, estimating time…');
    expect(views[2]!.fraction).toBeCloseTo((600_000 + 0.25 * 120_000) / (1_000_000 + 0.5 * 250_000));
    expect(views[4]!.text).toMatch(/^Downloading and converting: tensor 7 of 10, 684 KB of 977 KB, /);
  });

  it('says so when a file is read again after a sha256 mismatch, and the bar waits instead of going back', () => {
    const views = run([
      progress({ kind: 'plan', plan }),
      ...tensors(1, 8),
      // The file's 8 tensors are dropped and come again: 800 KB more than the plan.
      ...tensors(1, 10),
    ]);
    const again = views.filter((v) => v.text.includes('again'));
    expect(again[0]!.text).toMatch(
      /^Downloading and converting \(one file again: it did not match its sha256\): tensor 1 of 10, 879 KB of 977 KB, /,
    );
    expect(views.at(-1)!.text).toMatch(/ 1.72 MB of 1.72 MB, /);
    const fractions = views.map((v) => v.fraction ?? 0);
    for (let i = 1; i < fractions.length; i++) expect(fractions[i]).toBeGreaterThanOrEqual(fractions[i - 1]!);
  });
});
