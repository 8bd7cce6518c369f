// The conversion benchmark's CPU accounting (test/bench/convert-cpu-report.ts, process-cpu.ts threadSeconds): threads
// that start or end during the work, Chromium's alike-named worker threads told apart by start order, the split by
// role summing to the measured total, and the cores a target rate needs.
import { describe, expect, it } from 'vitest';
import {
  coresAt,
  GiB,
  linkTable,
  rateOn,
  splitCpu,
  threadRole,
  verdict,
  WORKER_THREAD,
} from '../bench/convert-cpu-report';
import { threadSeconds, TICKS_PER_SECOND, type ThreadSample, type WorkCost } from '../bench/process-cpu';

const T = TICKS_PER_SECOND;
const thread = (key: string, seconds: number, started: number): ThreadSample => ({
  key,
  ticks: seconds * T,
  sys: (seconds * T) / 2,
  started,
});

describe('threadSeconds', () => {
  it('counts threads started meanwhile from zero, keeps ended ones, and numbers workers by start order', () => {
    const since = 1000;
    const first = new Map([
      ['1/1', thread('renderer/CrRendererMain', 10, 10)],
      ['1/2', thread('renderer/DedicatedWorker', 5, 20)], // an older worker, alive throughout
      ['1/3', thread('browser/Chrome_IOThread', 1, 10)],
    ]);
    const last = new Map([
      ['1/1', thread('renderer/CrRendererMain', 12, 10)],
      // started after the first reading: the hash worker (later) and the conversion worker (earlier)
      ['1/9', thread('renderer/DedicatedWorker', 3, 1500)],
      ['1/8', thread('renderer/DedicatedWorker', 7, 1200)],
      ['1/2', thread('renderer/DedicatedWorker', 6, 20)],
      // its id reused by a thread that started after the first reading: a new thread, counted from zero
      ['1/3', thread('browser/Chrome_IOThread', 0.5, 1100)],
      // not in the first reading and older than `since`: its start is unknown, left out
      ['2/5', thread('network/NetworkService', 50, 500)],
    ]);
    expect(threadSeconds(first, last, since, WORKER_THREAD)).toEqual({
      'renderer/CrRendererMain': 2,
      'renderer/DedicatedWorker': 1,
      'renderer/DedicatedWorker#1': 7,
      'renderer/DedicatedWorker#2': 3,
      'browser/Chrome_IOThread': 0.5,
    });
    // Without byStart, alike-named threads are summed; the kernel's part is split the same way.
    expect(threadSeconds(first, last, since)['renderer/DedicatedWorker']).toBe(11);
    expect(threadSeconds(first, last, since, WORKER_THREAD, 'sys')['renderer/DedicatedWorker#1']).toBe(3.5);
  });
});

describe('conversion CPU report', () => {
  const cost = (byThread: Record<string, number>, child: number, self: number, ms = 10_000): WorkCost => ({
    ms,
    childCpuS: child,
    selfCpuS: self,
    childCpuByKind: { renderer: child },
    childCpuByThread: byThread,
    rssPeak: 0,
    rssBase: 0,
    machineBusyCores: 1.5,
  });

  it('names the roles of Chromium threads', () => {
    expect(threadRole('renderer/DedicatedWorker#1')).toBe('conversion worker');
    expect(threadRole('renderer/DedicatedWorker#2')).toBe('hash workers');
    expect(threadRole('renderer/DedicatedWorker')).toBe('older workers');
    expect(threadRole('renderer/CrRendererMain')).toBe('page main');
    expect(threadRole('renderer/chromium')).toBe('page main');
    expect(threadRole('browser/chromium')).toBe('browser main');
    expect(threadRole('renderer/ThreadPoolForeg')).toBe('renderer, other threads');
    expect(threadRole('network/NetworkService')).toBe('network service');
    expect(threadRole('browser/Chrome_IOThread')).toBe('browser IO thread');
    expect(threadRole('browser/ThreadPoolForeg')).toBe('browser, other threads');
    expect(threadRole('gpu-process/VizCompositorTh')).toBe('gpu-process, all threads');
  });

  it('splits per GiB by role, the parts summing to the total, the sampler taken out of the server', () => {
    const c = cost(
      {
        'renderer/DedicatedWorker#1': 8,
        'renderer/DedicatedWorker#2': 2,
        'renderer/DedicatedWorker#3': 1,
        'renderer/CrRendererMain': 1,
        'network/NetworkService': 2,
      },
      15,
      3,
    );
    // 2 GiB moved; sampler 0.1 core-s/s over 10 s = 1 core-s of the server's 3.
    const s = splitCpu(c, 2 * GiB, 0.1);
    expect(s.perGiB).toEqual({
      'conversion worker': 4,
      'hash workers': 1.5,
      'page main': 0.5,
      'network service': 1,
      'threads not read': 0.5,
      server: 1,
    });
    const sum = Object.values(s.perGiB).reduce((a, b) => a + b, 0);
    expect(sum).toBeCloseTo(s.total, 10);
    expect(s.total).toBe(8.5);
    expect(s.browser).toBe(7.5);
    expect(s.busiest).toEqual({ key: 'renderer/DedicatedWorker#1', perGiB: 4 });
  });

  it('gives the cores a target rate needs and the ceilings', () => {
    // 20 core-s per GiB at 107.37 MB/s (0.1 GiB/s) keeps 2 cores busy.
    expect(coresAt(20, (0.1 * GiB) / 1e6)).toBeCloseTo(2, 10);
    expect(rateOn(20, 2)).toBeCloseTo((0.1 * GiB) / 1e6, 10);
    const conversion = splitCpu(cost({ 'renderer/DedicatedWorker#1': 10 }, 16, 4), GiB);
    // 0.8 × 134.2 MB/s = 0.1 GiB/s; total 20 core-s/GiB → 2 cores, browser 16 → 1.6, worker thread 10 → 1.
    const v = verdict(conversion, (0.125 * GiB) / 1e6, 0.8, 2);
    expect(v.cores).toBeCloseTo(2, 10);
    expect(v.browserCores).toBeCloseTo(1.6, 10);
    expect(v.busiestThreadCores).toBeCloseTo(1, 10);
    expect(v.ceilingMBps).toBeCloseTo((2 * GiB) / 16 / 1e6, 10);
    expect(v.threadCeilingMBps).toBeCloseTo(GiB / 10 / 1e6, 10);
    const table = linkTable(
      [
        {
          link: 'unthrottled',
          load: '1.0–2.0',
          plainMBps: 134.2,
          conversionMBps: 33.5,
          plain: conversion,
          conversion,
          plainBusy: 1,
          conversionBusy: 2,
        },
      ],
      0.8,
      2,
    );
    expect(table).toContain(
      '| unthrottled | 1.0–2.0 | 134.2 | 33.5 | 0.25× | 20.0 / 20.0 | 10.0 | 1.00 / 2.00 |',
    );
    expect(table).toContain('needs 2.00 cores');
  });
});
