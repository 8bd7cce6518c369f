// Owns measuring what a piece of work costs in CPU and memory across processes (Linux /proc): the CPU time and peak
// RSS of this process's descendants (a browser and its helpers), this process's own CPU time (a server living in
// it), and how busy the whole machine was meanwhile. Reads /proc asynchronously, so a server in this process keeps
// serving while it samples; it starts and stops nothing.
import { readdir, readFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { statFields } from './process-memory';

export const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
const PAGE_BYTES = Number(execFileSync('getconf', ['PAGESIZE']).toString().trim()) || 4096;

interface ProcessSample {
  parent: number;
  /** utime + stime, in clock ticks. */
  ticks: number;
  rss: number;
}

/** Samples the given processes, or every process when `pids` is omitted (a hundred reads: done seldom). */
async function sampleAll(pids?: Iterable<number>): Promise<Map<number, ProcessSample>> {
  const out = new Map<number, ProcessSample>();
  const list = pids ? [...pids] : (await readdir('/proc')).map(Number).filter(Number.isInteger);
  await Promise.all(
    list.map(async (pid) => {
      const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
      if (!text) return;
      const f = statFields(text);
      // After the name: [1] ppid, [11] utime, [12] stime, [21] rss (pages). Threads' time is in their process's.
      out.set(pid, {
        parent: Number(f[1]),
        ticks: Number(f[11]) + Number(f[12]),
        rss: Number(f[21]) * PAGE_BYTES,
      });
    }),
  );
  return out;
}

function descendants(all: Map<number, ProcessSample>, root: number): Map<number, ProcessSample> {
  const children = new Map<number, number[]>();
  for (const [pid, s] of all) children.set(s.parent, [...(children.get(s.parent) ?? []), pid]);
  const out = new Map<number, ProcessSample>();
  const stack = [...(children.get(root) ?? [])];
  while (stack.length > 0) {
    const pid = stack.pop() as number;
    const s = all.get(pid);
    if (s) out.set(pid, s);
    stack.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** Busy and total jiffies of all cores since boot (/proc/stat; idle and iowait count as not busy). */
async function machineTicks(): Promise<{ busy: number; total: number }> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0] ?? '';
  const n = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = n.reduce((a, b) => a + b, 0);
  return { busy: total - (n[3] ?? 0) - (n[4] ?? 0), total };
}

/** What a Chromium process does, from its command line: browser, renderer, gpu, network, storage, utility… */
async function kindOf(pid: number): Promise<string> {
  // Chromium rewrites its command line with spaces between the arguments instead of NULs.
  const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split(/[\0 ]/);
  const flag = (name: string): string | undefined =>
    argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const type = flag('type');
  if (!type) return argv[0]?.includes('chrom') ? 'browser' : (argv[0]?.split('/').at(-1) ?? 'other');
  const sub = flag('utility-sub-type');
  if (sub) return sub.split('.')[0] ?? sub;
  return type;
}

export interface ThreadSample {
  /** "kind/thread name", see kindOf. */
  key: string;
  ticks: number;
  /** The part of `ticks` spent in the kernel (system calls: file I/O, page faults…). */
  sys: number;
  /** When the thread started, clock ticks since boot (orders threads of one name). */
  started: number;
}

/** CPU ticks of each thread of the given processes, by thread id. */
async function threadSamples(pids: Iterable<number>): Promise<Map<string, ThreadSample>> {
  const out = new Map<string, ThreadSample>();
  for (const pid of pids) {
    const kind = await kindOf(pid);
    const tids = await readdir(`/proc/${pid}/task`).catch(() => [] as string[]);
    for (const tid of tids) {
      const text = await readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8').catch(() => null);
      if (!text) continue;
      const name = text.slice(text.indexOf('(') + 1, text.lastIndexOf(')'));
      const f = statFields(text);
      // After the name: [11] utime, [12] stime, [19] starttime.
      out.set(`${pid}/${tid}`, {
        key: `${kind}/${name}`,
        ticks: Number(f[11]) + Number(f[12]),
        sys: Number(f[12]),
        started: Number(f[19]),
      });
    }
  }
  return out;
}

/** Clock ticks since boot, on the clock a thread's starttime uses. */
async function ticksSinceBoot(): Promise<number> {
  return Number((await readFile('/proc/uptime', 'utf8')).split(' ')[0]) * TICKS_PER_SECOND;
}

/**
 * The CPU seconds each thread used between two readings, summed by "kind/thread name". A thread missing from the
 * first reading counts from zero if it started after `since` (else its start is unknown and it is left out); a
 * thread missing from the last keeps its latest reading. Threads started meanwhile whose name matches `byStart` are
 * not summed but keyed "kind/name#k", k being the order in which they started (1 = first): e.g. Chromium names
 * every dedicated worker's thread alike, and the first one a page starts is told apart from those it starts later.
 */
export function threadSeconds(
  first: ReadonlyMap<string, ThreadSample>,
  last: ReadonlyMap<string, ThreadSample>,
  since: number,
  byStart?: RegExp,
  field: 'ticks' | 'sys' = 'ticks',
): Record<string, number> {
  const used: Array<{ key: string; started: number; ticks: number }> = [];
  for (const [id, s] of last) {
    const before = first.get(id);
    // A thread id reused by a new thread (another start time) is a new thread.
    const base = before !== undefined && before.started === s.started ? before[field] : null;
    if (base === null && s.started < since) continue;
    used.push({ key: s.key, started: s.started, ticks: s[field] - (base ?? 0) });
  }
  const out: Record<string, number> = {};
  const rank = new Map<string, number>();
  for (const t of used.sort((a, b) => a.started - b.started)) {
    let key = t.key;
    if (t.started >= since && byStart?.test(key.slice(key.indexOf('/') + 1))) {
      const k = (rank.get(key) ?? 0) + 1;
      rank.set(key, k);
      key = `${key}#${k}`;
    }
    out[key] = (out[key] ?? 0) + t.ticks / TICKS_PER_SECOND;
  }
  return out;
}

export interface WorkCost {
  ms: number;
  /** CPU seconds used by this process's descendants (the browser), and by this process itself (the server). */
  childCpuS: number;
  selfCpuS: number;
  /** childCpuS by kind of process (see kindOf). */
  childCpuByKind: Record<string, number>;
  /**
   * Only with `threads`: CPU seconds by "kind/thread name" (see threadSeconds), threads read at the start, every
   * `threadEvery`-th sample and the end: a thread that ends meanwhile keeps its last reading (up to that many
   * intervals of its time can be missed; the process total above still has it).
   */
  childCpuByThread?: Record<string, number>;
  /** Only with `threads`: the kernel's part of childCpuByThread (system time), same keys. */
  childSysByThread?: Record<string, number>;
  /** Peak summed RSS of the descendants above what they held at the start, and that start. */
  rssPeak: number;
  rssBase: number;
  /** Cores the whole machine kept busy on average (everyone's work, ours included) and how many it has. */
  machineBusyCores: number;
}

/**
 * Runs `work` while sampling every `intervalMs`: descendants' CPU (a process that ends meanwhile keeps the time of
 * its last sample, so up to one interval of its time can be missed) and RSS, this process's CPU, the machine's load.
 * Between full scans of /proc (every tenth sample, for processes started meanwhile) only the known tree is read, to
 * keep the sampler's own cost (counted in this process's CPU) small.
 */
export async function measureWork<T>(
  work: () => Promise<T>,
  options: {
    intervalMs?: number;
    threads?: boolean;
    /** Threads named alike that are told apart by start order (see threadSeconds). */
    threadsByStart?: RegExp;
    /** Threads are read every this many samples (default 10: each reading costs a read per thread). */
    threadEvery?: number;
  } = {},
): Promise<{ result: T; cost: WorkCost }> {
  const intervalMs = options.intervalMs ?? 100;
  const since = await ticksSinceBoot();
  const first = descendants(await sampleAll(), process.pid);
  const threads0 = options.threads ? await threadSamples(first.keys()) : null;
  const lastThreads = new Map(threads0 ?? []);
  const startTicks = new Map([...first].map(([pid, s]) => [pid, s.ticks]));
  const lastTicks = new Map(startTicks);
  const rssBase = [...first.values()].reduce((n, s) => n + s.rss, 0);
  let rssPeak = rssBase;
  let known = new Set(first.keys());
  let samples = 0;
  const sample = async (full = false): Promise<void> => {
    let now: Map<number, ProcessSample>;
    if (full || ++samples % 10 === 0) {
      now = descendants(await sampleAll(), process.pid);
      known = new Set(now.keys());
    } else now = await sampleAll(known);
    for (const [pid, s] of now) lastTicks.set(pid, s.ticks);
    if (threads0 && (full || samples % (options.threadEvery ?? 10) === 0))
      for (const [id, t] of await threadSamples(known)) lastThreads.set(id, t);
    rssPeak = Math.max(
      rssPeak,
      [...now.values()].reduce((n, s) => n + s.rss, 0),
    );
  };
  const machine0 = await machineTicks();
  const self0 = process.cpuUsage();
  const t0 = performance.now();
  let running = true;
  const sampler = (async () => {
    while (running) {
      await sample();
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();
  const result = await work();
  const ms = performance.now() - t0;
  const self = process.cpuUsage(self0);
  const machine1 = await machineTicks();
  running = false;
  await sampler;
  await sample(true);
  let ticks = 0;
  const byKind: Record<string, number> = {};
  for (const [pid, last] of lastTicks) {
    const used = last - (startTicks.get(pid) ?? 0);
    ticks += used;
    const kind = await kindOf(pid);
    byKind[kind] = (byKind[kind] ?? 0) + used / TICKS_PER_SECOND;
  }
  const cores = (machine1.total - machine0.total) / ((ms / 1000) * TICKS_PER_SECOND);
  const byThread = threads0 ? threadSeconds(threads0, lastThreads, since, options.threadsByStart) : undefined;
  const sysByThread = threads0
    ? threadSeconds(threads0, lastThreads, since, options.threadsByStart, 'sys')
    : undefined;
  return {
    result,
    cost: {
      ms,
      childCpuS: ticks / TICKS_PER_SECOND,
      selfCpuS: (self.user + self.system) / 1e6,
      childCpuByKind: byKind,
      ...(byThread ? { childCpuByThread: byThread } : {}),
      ...(sysByThread ? { childSysByThread: sysByThread } : {}),
      rssPeak: rssPeak - rssBase,
      rssBase,
      machineBusyCores:
        ((machine1.busy - machine0.busy) / Math.max(1, machine1.total - machine0.total)) * cores,
    },
  };
}
