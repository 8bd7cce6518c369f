// Working ahead while the user types: only the latest draft runs, after a quiet moment, and whatever it supersedes
// is aborted (waiting or running); the setting that turns it off is read back from storage like the others.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createDebouncedJob, type AbortableJob } from '../../src/ui/lib/debounced-job';
import { readSettings } from '../../src/ui/stores/settings-store';

const DELAY = 400;

/** Jobs that record their runs and keep running until their signal is aborted. */
function recorder() {
  const runs: { name: string; signal: AbortSignal }[] = [];
  const job =
    (name: string): AbortableJob =>
    (signal) =>
      new Promise<void>((_resolve, reject) => {
        runs.push({ name, signal });
        signal.addEventListener('abort', () => reject(new DOMException('Aborted', 'AbortError')));
      });
  return { runs, job };
}

describe('debounced job (work ahead scheduler)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('runs only the last of a burst, once the delay has passed since it', () => {
    const { runs, job } = recorder();
    const scheduler = createDebouncedJob(DELAY);
    scheduler.schedule(job('W'));
    vi.advanceTimersByTime(DELAY - 1);
    scheduler.schedule(job('Wh'));
    vi.advanceTimersByTime(DELAY - 1);
    scheduler.schedule(job('What'));
    vi.advanceTimersByTime(DELAY - 1);
    expect(runs).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(runs.map((r) => r.name)).toEqual(['What']);
    expect(runs[0]?.signal.aborted).toBe(false);
  });

  it('aborts a running job when a newer one is scheduled, and runs that one after the delay', async () => {
    const { runs, job } = recorder();
    const scheduler = createDebouncedJob(DELAY);
    scheduler.schedule(job('first'));
    vi.advanceTimersByTime(DELAY);
    scheduler.schedule(job('second'));
    expect(runs[0]?.signal.aborted).toBe(true);
    vi.advanceTimersByTime(DELAY);
    expect(runs.map((r) => r.name)).toEqual(['first', 'second']);
    expect(runs[1]?.signal.aborted).toBe(false);
    // The aborted job's rejection is absorbed: no unhandled rejection fails this test.
    await vi.runAllTimersAsync();
  });

  it('cancel drops the waiting job and aborts the running one', () => {
    const { runs, job } = recorder();
    const scheduler = createDebouncedJob(DELAY);
    scheduler.schedule(job('running'));
    vi.advanceTimersByTime(DELAY);
    scheduler.cancel();
    expect(runs[0]?.signal.aborted).toBe(true);
    scheduler.schedule(job('waiting'));
    scheduler.cancel();
    vi.advanceTimersByTime(DELAY * 2);
    expect(runs.map((r) => r.name)).toEqual(['running']);
    // It still works after a cancel (a send, then a new draft).
    scheduler.schedule(job('next'));
    vi.advanceTimersByTime(DELAY);
    expect(runs.map((r) => r.name)).toEqual(['running', 'next']);
  });

  it('does nothing more once disposed: no timer left, later schedules ignored', () => {
    const { runs, job } = recorder();
    const scheduler = createDebouncedJob(DELAY);
    scheduler.schedule(job('pending'));
    scheduler.dispose();
    expect(vi.getTimerCount()).toBe(0);
    scheduler.schedule(job('late'));
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(DELAY * 2);
    expect(runs).toEqual([]);
  });
});

describe('work ahead setting', () => {
  it('is on by default, keeps a stored choice, and falls back to on for anything odd', () => {
    expect(readSettings(null).workAhead).toBe(true);
    expect(readSettings(JSON.stringify({ workAhead: false })).workAhead).toBe(false);
    expect(readSettings(JSON.stringify({ workAhead: true })).workAhead).toBe(true);
    expect(readSettings(JSON.stringify({ workAhead: 'no' })).workAhead).toBe(true);
    expect(readSettings('{damaged').workAhead).toBe(true);
  });
});
