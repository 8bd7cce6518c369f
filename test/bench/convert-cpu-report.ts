// Owns turning the CPU a browser conversion and a plain fetch cost (process-cpu.ts's WorkCost) into the conversion
// bench's figures: core-seconds per source GiB by role (conversion worker, hash workers, page main thread, network
// service, browser IO thread, the local server…), the cores a conversion at a wanted fraction of the plain rate
// would need, and the one-thread ceiling of its busiest thread. Pure arithmetic and text: it measures nothing.
import type { WorkCost } from './process-cpu';

export const GiB = 1024 ** 3;

/**
 * Chromium names every dedicated worker's thread alike; measureWork (threadsByStart) numbers those started during
 * the work by start order. In a conversion the first is the conversion worker, the later ones the hash workers it
 * starts.
 */
export const WORKER_THREAD = /^DedicatedWorker/;

/** The role of a thread keyed "kind/thread name[#k]" (see process-cpu.ts threadSeconds). */
export function threadRole(key: string): string {
  const slash = key.indexOf('/');
  const kind = key.slice(0, slash);
  const name = key.slice(slash + 1);
  if (kind === 'renderer') {
    if (WORKER_THREAD.test(name))
      return /#1$/.test(name) ? 'conversion worker' : /#\d+$/.test(name) ? 'hash workers' : 'older workers';
    // A process's main thread carries the process's name ("chromium"); older builds name it CrRendererMain.
    if (name === 'chromium' || name === 'CrRendererMain') return 'page main';
    return 'renderer, other threads';
  }
  if (kind === 'network') return 'network service';
  if (kind === 'browser')
    return name === 'Chrome_IOThread'
      ? 'browser IO thread'
      : name === 'chromium'
        ? 'browser main'
        : 'browser, other threads';
  return `${kind}, all threads`;
}

export interface CpuSplit {
  /** Core-seconds per source GiB by role; `server` is the local test server (this Node process, less the sampler). */
  perGiB: Record<string, number>;
  /** Browser + server, core-s per GiB. */
  total: number;
  browser: number;
  /** The busiest single thread and its core-s per GiB (a thread runs on at most one core). */
  busiest: { key: string; perGiB: number } | null;
  /** Every thread read, "kind/name[#k]" → core-s per GiB and the kernel's part of it, busiest first. */
  threads: Array<[string, number, number]>;
}

/**
 * Splits a measured cost by role, per GiB of `bytes`. The browser's process total minus the threads read is kept
 * as "threads not read" (threads that ended between readings, processes that ended), so the parts sum to the total.
 * `samplerPerS` (core-s per second, measured idle) is the sampler's own cost in this process: taken out of the
 * server's share and out of the total (it is the measurement, not the work).
 */
export function splitCpu(cost: WorkCost, bytes: number, samplerPerS = 0): CpuSplit {
  const gib = bytes / GiB;
  const perGiB: Record<string, number> = {};
  let threads = 0;
  let busiest: CpuSplit['busiest'] = null;
  for (const [key, s] of Object.entries(cost.childCpuByThread ?? {})) {
    const role = threadRole(key);
    perGiB[role] = (perGiB[role] ?? 0) + s / gib;
    threads += s;
    if (busiest === null || s / gib > busiest.perGiB) busiest = { key, perGiB: s / gib };
  }
  if (cost.childCpuByThread !== undefined) perGiB['threads not read'] = (cost.childCpuS - threads) / gib;
  else for (const [kind, s] of Object.entries(cost.childCpuByKind)) perGiB[kind] = s / gib;
  const server = Math.max(0, cost.selfCpuS - (samplerPerS * cost.ms) / 1000);
  perGiB.server = server / gib;
  return {
    perGiB,
    total: (cost.childCpuS + server) / gib,
    browser: cost.childCpuS / gib,
    busiest,
    threads: Object.entries(cost.childCpuByThread ?? {})
      .map(([k, v]): [string, number, number] => [k, v / gib, (cost.childSysByThread?.[k] ?? 0) / gib])
      .sort((a, b) => b[1] - a[1]),
  };
}

/** Cores kept busy by work costing `corePerGiB` core-s per GiB at `mbps` (MB/s, 1e6 bytes). */
export function coresAt(corePerGiB: number, mbps: number): number {
  return (corePerGiB * mbps * 1e6) / GiB;
}

/** The rate (MB/s) work costing `corePerGiB` reaches on `cores` cores, if nothing else limits it. */
export function rateOn(corePerGiB: number, cores: number): number {
  return corePerGiB > 0 ? (cores * GiB) / corePerGiB / 1e6 : Infinity;
}

export interface CpuVerdict {
  /** The target rate: `ratio` × the plain fetch's rate, MB/s. */
  targetMBps: number;
  /** Cores the conversion's CPU needs at the target: with the server's share, and browser only (as for a user). */
  cores: number;
  browserCores: number;
  /** The conversion's busiest thread at the target, in cores: above 1 it cannot get there on any machine. */
  busiestThreadCores: number;
  /** Rates the conversion's CPU allows on `machineCores` idle cores (browser only), and on its busiest thread. */
  ceilingMBps: number;
  threadCeilingMBps: number;
}

/** What a conversion at `ratio` × the plain fetch's rate would need, from the conversion's measured CPU split. */
export function verdict(
  conversion: CpuSplit,
  plainMBps: number,
  ratio: number,
  machineCores: number,
): CpuVerdict {
  const targetMBps = ratio * plainMBps;
  const thread = conversion.busiest?.perGiB ?? 0;
  return {
    targetMBps,
    cores: coresAt(conversion.total, targetMBps),
    browserCores: coresAt(conversion.browser, targetMBps),
    busiestThreadCores: coresAt(thread, targetMBps),
    ceilingMBps: rateOn(conversion.browser, machineCores),
    threadCeilingMBps: rateOn(thread, 1),
  };
}

/** "role 1.23, role 0.45, …", largest first, roles under `min` core-s/GiB left out. */
export function splitText(split: CpuSplit, min = 0.1): string {
  return Object.entries(split.perGiB)
    .filter(([, v]) => Math.abs(v) >= min)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v.toFixed(2)}`)
    .join(', ');
}

/** One link speed's plain fetch and conversion, measured one after the other. */
export interface LinkResult {
  link: string;
  /** Load average (1 min) before → after. */
  load: string;
  plainMBps: number;
  conversionMBps: number;
  plain: CpuSplit;
  conversion: CpuSplit;
  /** Cores the whole machine kept busy (everyone's work) during each. */
  plainBusy: number;
  conversionBusy: number;
}

/** The CPU lines printed after each link speed's run. */
export function cpuLines(r: LinkResult, machineCores: number): string {
  const side = (name: string, s: CpuSplit, busy: number): string =>
    `  CPU ${name} ${s.total.toFixed(2)} core-s/GiB (browser ${s.browser.toFixed(2)}): ${splitText(s)}; ` +
    `machine busy ${busy.toFixed(2)}/${machineCores} cores`;
  const b = r.conversion.busiest;
  const top = (s: CpuSplit): string =>
    s.threads
      .filter(([, v]) => v >= 0.3)
      .map(([k, v, sys]) => `${k} ${v.toFixed(2)} (kernel ${sys.toFixed(2)})`)
      .join(', ');
  return [
    side('plain:     ', r.plain, r.plainBusy),
    side('conversion:', r.conversion, r.conversionBusy),
    `  conversion/plain CPU per byte ${(r.conversion.total / r.plain.total).toFixed(2)}×` +
      (b === null
        ? ''
        : `; busiest thread ${b.key} ${b.perGiB.toFixed(2)} core-s/GiB (alone on a core: ${rateOn(b.perGiB, 1).toFixed(0)} MB/s)`),
    ...(r.conversion.threads.length > 0
      ? [`  threads plain:      ${top(r.plain)}`, `  threads conversion: ${top(r.conversion)}`]
      : []),
  ].join('\n');
}

/** The summary: a Markdown table, one row per link speed, and what `ratio` × the unthrottled plain rate would need. */
export function linkTable(rows: readonly LinkResult[], ratio: number, machineCores: number): string {
  const f = (x: number, d = 1): string => x.toFixed(d);
  const lines = [
    `| link | load average | plain fetch MB/s | conversion MB/s | conversion / plain | CPU plain / conversion, core-s per GiB | conversion worker thread, core-s/GiB | cores busy (machine) plain / conversion |`,
    `| --- | --- | --- | --- | --- | --- | --- | --- |`,
  ];
  for (const r of rows) {
    const worker = r.conversion.perGiB['conversion worker'];
    lines.push(
      `| ${r.link} | ${r.load} | ${f(r.plainMBps)} | ${f(r.conversionMBps)} | ${f(r.conversionMBps / r.plainMBps, 2)}× | ` +
        `${f(r.plain.total)} / ${f(r.conversion.total)} | ${worker === undefined ? '— (no --threads)' : f(worker)} | ` +
        `${f(r.plainBusy, 2)} / ${f(r.conversionBusy, 2)} |`,
    );
  }
  const top = rows[0];
  if (top !== undefined) {
    const v = verdict(top.conversion, top.plainMBps, ratio, machineCores);
    lines.push(
      `${ratio}× of the ${top.link} plain fetch (${f(top.plainMBps)} MB/s) = ${f(v.targetMBps)} MB/s of conversion needs ` +
        `${f(v.cores, 2)} cores at its measured ${f(top.conversion.total)} core-s/GiB (browser only, server elsewhere: ` +
        `${f(v.browserCores, 2)}); its busiest thread alone ${f(v.busiestThreadCores, 2)} cores` +
        `${v.busiestThreadCores > 1 ? ' (> 1: that thread cannot keep up on any number of cores)' : ''}. ` +
        `CPU ceiling on ${machineCores} idle cores ${f(v.ceilingMBps)} MB/s; one-thread ceiling ${f(v.threadCeilingMBps)} MB/s.`,
    );
  }
  return lines.join('\n');
}
