// Owns download progress accounting: bytes per file and overall, rate, ETA, throttling. It never fetches or stores.
// `loaded` counts bytes that arrived (or were already stored); bytes that have to be fetched again are added to
// `total`, so `loaded` never goes backwards and the last event has loaded === total.
import type { LoadProgressEvent, OverallProgress } from '../shared/protocol';

export type ProgressListener = (event: LoadProgressEvent) => void;

/** Bytes per second over a sliding window of samples (cumulative counts in, the recent rate out). */
export class RateMeter {
  private samples: { t: number; bytes: number }[] = [];
  constructor(private readonly windowMs: number) {}

  add(t: number, bytes: number): void {
    this.samples.push({ t, bytes });
    while (this.samples.length > 2 && t - (this.samples[0]?.t ?? t) > this.windowMs) this.samples.shift();
  }

  /** undefined until there are two samples at least 50 ms apart. */
  rate(): number | undefined {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (!first || !last || last.t - first.t < 50) return undefined;
    return ((last.bytes - first.bytes) * 1000) / (last.t - first.t);
  }
}

interface FileState {
  loaded: number;
  discarded: number;
  expected: number | null;
  meter: RateMeter;
  lastEmit: number;
}

export interface ProgressTrackerOptions {
  onProgress?: ProgressListener | undefined;
  /** Minimum gap between two file-progress events of one file (default 100 ms). */
  intervalMs?: number;
  now?: () => number;
}

export class ProgressTracker {
  private readonly files = new Map<string, FileState>();
  private readonly overallMeter = new RateMeter(3000);
  private received = 0;
  private readonly now: () => number;
  private readonly intervalMs: number;

  constructor(private readonly options: ProgressTrackerOptions = {}) {
    this.now = options.now ?? (() => Date.now());
    this.intervalMs = options.intervalMs ?? 100;
  }

  has(file: string): boolean {
    return this.files.has(file);
  }

  /** Registers a file before any transfer, so that the overall total is known from the first event. */
  register(file: string, expectedSize: number | null, alreadyStored: number): void {
    this.files.set(file, {
      loaded: alreadyStored,
      discarded: 0,
      expected: expectedSize,
      meter: new RateMeter(3000),
      lastEmit: 0,
    });
  }

  private state(file: string): FileState {
    let s = this.files.get(file);
    if (!s) {
      s = { loaded: 0, discarded: 0, expected: null, meter: new RateMeter(3000), lastEmit: 0 };
      this.files.set(file, s);
    }
    return s;
  }

  private static totalOf(s: FileState): number {
    return Math.max(s.loaded, s.expected === null ? s.loaded : s.expected + s.discarded);
  }

  overall(): OverallProgress {
    let loaded = 0;
    let total = 0;
    for (const s of this.files.values()) {
      loaded += s.loaded;
      total += ProgressTracker.totalOf(s);
    }
    const out: OverallProgress = { loaded, total };
    const rate = this.overallMeter.rate();
    if (rate !== undefined) {
      out.bytesPerS = rate;
      if (rate > 0) out.etaS = (total - loaded) / rate;
    }
    return out;
  }

  fileTotals(file: string): { loaded: number; total: number } {
    const s = this.state(file);
    return { loaded: s.loaded, total: ProgressTracker.totalOf(s) };
  }

  /** The size became known (Content-Length / Content-Range) or was corrected. */
  setExpected(file: string, size: number): void {
    this.state(file).expected = size;
  }

  /** Bytes counted as loaded that must be fetched again (lost partial chunk, restarted or corrupt file). */
  discard(file: string, bytes: number): void {
    if (bytes > 0) this.state(file).discarded += bytes;
  }

  /** Bytes found stored by someone else (another tab finished part of the file): loaded, but not part of the rate. */
  credit(file: string, bytes: number): void {
    if (bytes > 0) this.state(file).loaded += bytes;
  }

  /** Bytes that arrived from the network (or a local file being imported). */
  addReceived(file: string, bytes: number): void {
    const s = this.state(file);
    const t = this.now();
    s.loaded += bytes;
    this.received += bytes;
    s.meter.add(t, s.loaded);
    this.overallMeter.add(t, this.received);
    if (t - s.lastEmit >= this.intervalMs) {
      s.lastEmit = t;
      const { loaded, total } = this.fileTotals(file);
      const event: LoadProgressEvent = {
        kind: 'file-progress',
        file,
        loaded,
        total,
        overall: this.overall(),
      };
      const rate = s.meter.rate();
      if (rate !== undefined) {
        event.bytesPerS = rate;
        if (rate > 0) event.etaS = (total - loaded) / rate;
      }
      this.options.onProgress?.(event);
    }
  }

  emit(kind: 'file-start' | 'file-done' | 'verified', file: string): void {
    const { loaded, total } = this.fileTotals(file);
    this.options.onProgress?.({ kind, file, loaded, total, overall: this.overall() });
  }
}
