// Owns turning contender results into the benchmark's tables (console and Markdown): per-backend timings, the
// ratios against transformers.js, the targets, and decode speed against the memory-bandwidth bound. Pure formatting.

import type { Bandwidth } from './bandwidth';
import type { ContenderResult } from './conversation';

/** One backend's pair of results plus what the bound needs. */
export interface BackendRow {
  id: string;
  label: string;
  ours: ContenderResult | null;
  /** Ours working ahead while each question is typed (the app's default); null when not run. */
  ahead: ContenderResult | null;
  theirs: ContenderResult | null;
  /** Bytes a decode step reads (decoder weights, and KV at the average decode context). */
  bytesPerToken: { weights: number; kv: number } | null;
  correctnessOnly?: { reference: string; same: boolean; detail: string };
}

export interface MachineInfo {
  cpu: string;
  cores: number;
  ramBytes: number;
  node: string;
  chromium: string;
  ort: string;
  transformers: string;
  loadBefore: number[];
  loadAfter: number[];
  date: string;
}

/** Seconds; three decimals below 0.1 s, where work done ahead leaves only milliseconds. */
const s = (ms: number) => (ms / 1000).toFixed(ms < 100 ? 3 : 2);
const gib = (b: number | null) => (b === null || b === 0 ? '–' : (b / 1024 ** 3).toFixed(2));
const x = (v: number) => (Number.isFinite(v) ? `${v.toFixed(v >= 10 ? 0 : 2)}×` : '–');

/** How far two answers agree: the whole text, or the length of their common start. */
function agreement(a: string | undefined, b: string | undefined): string {
  if (a === undefined || b === undefined) return '–';
  if (a === b) return `all ${a.length}`;
  let n = 0;
  while (n < a.length && a[n] === b[n]) n++;
  return `first ${n} of ${Math.max(a.length, b.length)}`;
}

/** Decode speed over every turn of a run: tokens after each turn's first, per second spent decoding them. */
export function decodeRate(r: ContenderResult | null): number {
  let tokens = 0;
  let seconds = 0;
  for (const t of r?.turns ?? []) {
    if (t.newTokens < 2 || t.decodeTokPerS <= 0) continue;
    tokens += t.newTokens - 1;
    seconds += (t.newTokens - 1) / t.decodeTokPerS;
  }
  return seconds > 0 ? tokens / seconds : 0;
}

/** Milliseconds per decode step inside session.run and outside it (the contender's own work), over all turns. */
function splitOf(r: ContenderResult | null): { ort: number; outside: number } | null {
  let steps = 0;
  let wall = 0;
  let ort = 0;
  for (const t of r?.turns ?? []) {
    if (!t.decodeSplit) continue;
    steps += t.decodeSplit.steps;
    wall += t.decodeSplit.wallMs;
    ort += t.decodeSplit.ortMs;
  }
  return steps > 0 ? { ort: ort / steps, outside: (wall - ort) / steps } : null;
}

function turn(r: ContenderResult | null, k: number) {
  return r?.turns[k];
}

export function targets(row: BackendRow) {
  const o3 = turn(row.ours, 2);
  const t3 = turn(row.theirs, 2);
  const od = decodeRate(row.ours);
  const td = decodeRate(row.theirs);
  const a3 = turn(row.ahead, 2);
  const ttft3Speedup = o3 && t3 ? t3.ttftMs / o3.ttftMs : NaN;
  const aheadSpeedup = a3 && t3 ? t3.ttftMs / a3.ttftMs : NaN;
  const decodeRatio = od > 0 && td > 0 ? od / td : NaN;
  return {
    ttft3Speedup,
    aheadSpeedup,
    decodeRatio,
    ttftOk: ttft3Speedup >= 10,
    decodeOk: decodeRatio >= 1,
  };
}

function boundOf(row: BackendRow, bw: Bandwidth) {
  if (!row.bytesPerToken) return null;
  const bytes = row.bytesPerToken.weights + row.bytesPerToken.kv;
  const boundTokS = bw.best / bytes;
  const pct = (r: ContenderResult | null) => {
    const rate = decodeRate(r);
    return rate > 0 ? (100 * rate) / boundTokS : NaN;
  };
  return { bytes, boundTokS, ours: pct(row.ours), theirs: pct(row.theirs) };
}

function contenderLine(r: ContenderResult | null, name: string): string[] {
  if (!r) return [name, '–', '–', '–', '–', '–', '–'];
  if (r.error) return [name, `failed: ${r.error.split('\n')[0] ?? ''}`, '', '', '', '', ''];
  const t1 = r.turns[0];
  const t3 = r.turns[2];
  return [
    name,
    s(r.loadMs),
    t1 ? s(t1.ttftMs) : '–',
    t3 ? s(t3.ttftMs) : '–',
    t3 ? `${t3.reusedPromptTokens ?? 0}/${t3.promptTokens}` : '–',
    r.turns.length > 0 ? decodeRate(r).toFixed(2) : '–',
    gib(r.peakRssBytes),
  ];
}

function table(header: string[], rows: string[][]): string {
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

/** The Markdown tables of one run (also printed to the console). */
export function renderTables(rows: BackendRow[], bw: Bandwidth): string {
  const timing: string[][] = [];
  const ratios: string[][] = [];
  const bounds: string[][] = [];
  const checks: string[][] = [];
  const splits: string[][] = [];
  for (const row of rows) {
    if (row.correctnessOnly) {
      checks.push([
        row.label,
        row.correctnessOnly.reference,
        row.correctnessOnly.same ? 'yes' : 'NO',
        row.correctnessOnly.detail,
      ]);
      continue;
    }
    timing.push([row.label, ...contenderLine(row.ours, 'ours')]);
    if (row.ahead) timing.push([row.label, ...contenderLine(row.ahead, 'ours, typed ahead')]);
    timing.push([row.label, ...contenderLine(row.theirs, 'transformers.js')]);
    const t = targets(row);
    const o = row.ours;
    const th = row.theirs;
    const agree = agreement(o?.turns[0]?.text, th?.turns[0]?.text);
    ratios.push([
      row.label,
      `${x(t.ttft3Speedup)} ${Number.isFinite(t.ttft3Speedup) ? (t.ttftOk ? '✅' : '❌') : ''}`,
      `${x(t.decodeRatio)} ${Number.isFinite(t.decodeRatio) ? (t.decodeOk ? '✅' : '❌') : ''}`,
      x(t.aheadSpeedup),
      row.ahead?.turns[0] && th?.turns[0] ? x(th.turns[0].ttftMs / row.ahead.turns[0].ttftMs) : '–',
      o && th && o.turns[0] && th.turns[0] ? x(th.turns[0].ttftMs / o.turns[0].ttftMs) : '–',
      o && th && o.loadMs > 0 ? x(th.loadMs / o.loadMs) : '–',
      o?.peakRssBytes && th?.peakRssBytes ? x(o.peakRssBytes / th.peakRssBytes) : '–',
      agree,
    ]);
    const so = splitOf(row.ours);
    const st = splitOf(row.theirs);
    if (so || st) {
      const f = (v: number | undefined) => (v === undefined ? '–' : v.toFixed(1));
      splits.push([row.label, f(so?.ort), f(so?.outside), f(st?.ort), f(st?.outside)]);
    }
    const b = boundOf(row, bw);
    if (b) {
      bounds.push([
        row.label,
        `${(b.bytes / 1e6).toFixed(0)} MB`,
        b.boundTokS.toFixed(1),
        Number.isFinite(b.ours) ? `${b.ours.toFixed(1)} %` : '–',
        Number.isFinite(b.theirs) ? `${b.theirs.toFixed(1)} %` : '–',
      ]);
    }
  }
  const parts: string[] = [];
  if (timing.length > 0) {
    parts.push(
      '### Timings',
      '',
      table(
        [
          'backend',
          'contender',
          'load s',
          'TTFT turn 1 s',
          'TTFT turn 3 s',
          'turn 3 reused/prompt',
          'decode tok/s (3 turns)',
          'peak RSS GiB',
        ],
        timing,
      ),
      '',
      '### Ratios (ours against transformers.js, same backend, same files)',
      '',
      table(
        [
          'backend',
          'turn-3 TTFT speed-up (target ≥ 10×)',
          'decode tok/s ratio (target ≥ 1.0×)',
          'turn-3 TTFT speed-up, typed ahead',
          'turn-1 TTFT speed-up, typed ahead',
          'turn-1 TTFT speed-up',
          'load speed-up',
          'peak RSS ours/theirs',
          'turn-1 answers agree (chars)',
        ],
        ratios,
      ),
      '',
      "### Where a decode step's time goes (Node runs)",
      '',
      'Milliseconds per generated token inside `session.run` (embed + decoder, the same kernels for both) and outside ' +
        "it (the contender's own per-token work: tensors, sampling, streaming text), over all three turns of the " +
        "run with the best decode speed. Outside-run time does not depend on the machine's load as much as the total.",
      '',
      table(
        ['backend', 'ours: in runs', 'ours: outside', 'transformers.js: in runs', 'transformers.js: outside'],
        splits,
      ),
      '',
      '### Decode against the memory-bandwidth bound',
      '',
      `Bandwidth measured in Node: sum ${(bw.sumOneThread / 1e9).toFixed(1)} GB/s on 1 thread, ` +
        `${(bw.sumAllThreads / 1e9).toFixed(1)} GB/s on ${bw.threads}; copy ${(bw.copyOneThread / 1e9).toFixed(1)} / ` +
        `${(bw.copyAllThreads / 1e9).toFixed(1)} GB/s (read + write). Bound = best of these ÷ bytes read per token ` +
        '(decoder weights + KV cache at the average decode context).',
      '',
      table(
        ['backend', 'bytes read / token', 'bound tok/s', 'ours % of bound', 'transformers.js % of bound'],
        bounds,
      ),
    );
  }
  if (checks.length > 0) {
    parts.push(
      ...(parts.length > 0 ? [''] : []),
      '### Correctness only (speed on this adapter means nothing)',
      '',
      table(['backend', 'compared with', 'same answers, 3 turns', 'detail'], checks),
    );
  }
  return parts.join('\n');
}

export function renderMachine(m: MachineInfo): string {
  return [
    `- CPU: ${m.cpu}, ${m.cores} cores (as the VM reports them); RAM ${(m.ramBytes / 1024 ** 3).toFixed(1)} GiB; no GPU.`,
    `- Node ${m.node}; ${m.chromium}; ${m.ort}; transformers.js ${m.transformers}.`,
    `- Load average (1/5/15 min) before: ${m.loadBefore.map((v) => v.toFixed(1)).join(' / ')}, after: ` +
      `${m.loadAfter.map((v) => v.toFixed(1)).join(' / ')}.` +
      (Math.max(...m.loadBefore, ...m.loadAfter) > m.cores
        ? ' **Other processes shared the CPU during this run**: absolute times are inflated and noisy; ratios of the ' +
          'two contenders, run back to back, are the meaningful figures.'
        : ''),
    `- Run on ${m.date}.`,
  ].join('\n');
}
