// Owns what an in-browser conversion's card says while it runs: the conversion worker's events in, one bar over the
// whole job (reading the plan, downloading and converting tensor k of n, writing, checking), its phase, the source
// bytes read of the plan's download, the rate and the time left out. The bar never goes back. Pure: no DOM, no worker.
import type { ConversionPlan } from '../../modelgen/convert/conversion-plan';
import type { ConvertWorkerEvent } from '../../store/hub-conversion-protocol';
import { RateMeter } from '../../store/progress';
import { formatBytes, formatEta, formatRate } from './format';

export type ConversionPhase = 'plan' | 'convert' | 'write' | 'check';

/** What each phase is called on the card (the download card says "Checking" for its hash check too). */
export const CONVERSION_PHASES: Record<ConversionPhase, string> = {
  plan: 'Reading the plan',
  convert: 'Downloading and converting',
  write: 'Writing the converted files',
  check: 'Checking the converted files',
};

export interface ConversionView {
  phase: ConversionPhase;
  /** The bar's position, 0 to 1; null while the plan is read (the size of the job is not known yet). */
  fraction: number | null;
  /** One line: the phase, then what is counted in it, the rate and the time left. */
  text: string;
  /** Source bytes read through (this run's and an interrupted run's), of the plan's download. */
  sourceBytes: number;
  downloadBytes: number;
  /** What the worker computed for this device from the config and headers (null until it arrives). */
  plan: ConversionPlan | null;
}

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

/**
 * What an output byte written into the store, or read back to check it, costs against a source byte downloaded and
 * converted: the conversion pass runs at 14–26 MB/s of source in Chromium (BENCHMARKS.md), while the store takes
 * 28–50 MB/s with its sha256 even as it downloads too (same file, store section) and reading back is faster still.
 * A rough quarter; it shapes the bar and the time left, nothing else.
 */
const OUTPUT_WEIGHT = 0.25;

/**
 * Follows one run of the conversion worker. The bar weighs the job in bytes: the plan's download, the output written
 * into the store and the output read back to check it (those two at OUTPUT_WEIGHT), so it moves through every phase
 * and ends full; the time left is the rest of that work at its recent pace.
 */
export class ConversionTracker {
  private phase: ConversionPhase = 'plan';
  private plan: ConversionPlan | null = null;
  private resumedBytes = 0;
  private fetched = 0;
  private stored = 0;
  private checked = 0;
  private checkTotal = 0;
  private tensorsDone = 0;
  private readingAgain = false;
  private tensorsTotal = 0;
  private shown = 0;
  /** Work done in the bar's bytes, for the time left; source bytes for the download rate; the phase's own bytes. */
  private work = new RateMeter(5000);
  private readonly source = new RateMeter(5000);
  private phaseMeter = new RateMeter(5000);

  constructor(private readonly now: () => number = () => Date.now()) {}

  /** Takes one worker event ('checked' and 'error' end the run: the card's business). */
  apply(e: ConvertWorkerEvent): void {
    const before = this.phase;
    if (e.type === 'progress') {
      const ev = e.event;
      if (ev.kind === 'plan') {
        // Still the plan's phase: the quota check and the graphs' layout come before the first tensor byte.
        this.plan = ev.plan;
        this.tensorsTotal = ev.plan.tensors;
      } else if (ev.kind === 'resume') {
        this.resumedBytes = ev.sourceBytes;
        this.stored = ev.storedBytes;
        this.phase = 'convert';
        // Work an earlier run did is no part of this run's pace.
        this.work = new RateMeter(5000);
      } else if (ev.kind === 'tensor') {
        // Fewer than before: a file's bytes did not match the hub's sha256, and what came from it is done again.
        if (ev.done < this.tensorsDone) this.readingAgain = true;
        this.tensorsDone = ev.done;
        this.tensorsTotal = ev.total;
        // The last one too ("tensor n of n"): writing shows once the store takes the first output bytes.
        this.phase = 'convert';
      }
    } else if (e.type === 'bytes') {
      // Only the tensor stream counts: the plan's header reads (before the plan) and small files are not the
      // download's bytes.
      if (this.plan === null || !e.path.endsWith('.safetensors')) return;
      this.fetched += e.bytes;
      if (this.phase !== 'check') this.phase = 'convert';
    } else if (e.type === 'stored') {
      this.stored += e.bytes;
      if (this.phase !== 'check') this.phase = 'write';
    } else if (e.type === 'done') {
      // Converted and stored: the card asks the worker to read it back next.
      this.phase = 'check';
      this.checkTotal = e.bytes;
    } else if (e.type === 'check') {
      this.phase = 'check';
      this.checked = e.loaded;
      this.checkTotal = e.total;
    }
    if (this.phase !== before) this.phaseMeter = new RateMeter(5000);
    const t = this.now();
    const { done } = this.workBytes();
    this.work.add(t, done);
    this.source.add(t, this.fetched);
    this.phaseMeter.add(
      t,
      this.phase === 'check' ? this.checked : this.phase === 'write' ? this.stored : this.fetched,
    );
  }

  /** The job in bytes: the plan's download + its output written + that output read back (weighted). */
  private workBytes(): { done: number; total: number } {
    if (this.plan === null) return { done: 0, total: 0 };
    const download = this.plan.downloadBytes;
    const output = sum([
      this.plan.outputBytes.vision_encoder,
      this.plan.outputBytes.embed_tokens,
      ...this.plan.outputBytes.decoder,
    ]);
    const passed = this.passed();
    const readDone = this.phase === 'check' || this.tensorsDone === this.tensorsTotal;
    const checking = this.phase === 'check' && this.checkTotal > 0;
    const written = checking ? output : Math.min(this.stored, output);
    const checked = checking ? (output * this.checked) / this.checkTotal : 0;
    const done = (readDone ? download : Math.min(passed, download)) + OUTPUT_WEIGHT * (written + checked);
    return { done, total: download + 2 * OUTPUT_WEIGHT * output };
  }

  private passed(): number {
    return this.resumedBytes + this.fetched;
  }

  view(): ConversionView {
    const plan = this.plan;
    const downloadBytes = plan?.downloadBytes ?? 0;
    const { done, total } = this.workBytes();
    if (plan !== null && total > 0) this.shown = Math.max(this.shown, Math.min(1, done / total));
    const rate = this.phase === 'convert' ? this.source.rate() : this.phaseMeter.rate();
    const workRate = this.work.rate();
    const left = workRate !== undefined && workRate > 0 ? (total - done) / workRate : undefined;
    const time = [
      ...(rate !== undefined && rate > 0 ? [formatRate(rate)] : []),
      left === undefined ? 'estimating time…' : `${formatEta(left)} left`,
    ];
    let parts: string[];
    if (this.phase === 'plan') parts = ['the file list, the config and each file’s tensor header'];
    else if (this.phase === 'convert')
      parts = [
        ...(this.tensorsDone > 0 ? [`tensor ${this.tensorsDone} of ${this.tensorsTotal}`] : []),
        // A file read again adds its bytes to the download (the bar waits for them instead of going back).
        `${formatBytes(this.passed())} of ${formatBytes(Math.max(downloadBytes, this.passed()))}`,
        ...time,
      ];
    else if (this.phase === 'write') parts = [`${formatBytes(this.stored)} stored`, ...time];
    else parts = [`${formatBytes(this.checked)} of ${formatBytes(this.checkTotal)}`, ...time];
    const again =
      this.readingAgain && this.phase === 'convert' ? ' (one file again: it did not match its sha256)' : '';
    return {
      phase: this.phase,
      fraction: plan === null ? null : this.shown,
      text: `${CONVERSION_PHASES[this.phase]}${again}: ${parts.join(', ')}`,
      sourceBytes: this.passed(),
      downloadBytes,
      plan,
    };
  }
}
