// Owns the GPU pack's one table: the device's facts, then one column per measured model and, for a series of
// decoder depths, a column for LLaVA-1.5-7B's 32 layers extrapolated from the per-layer cost. Pure formatting and
// arithmetic: no timing, no I/O.

import type { ModelMeasurement } from './measure-model';

export interface DeviceFacts {
  backend: string;
  /** Lines such as "adapter: NVIDIA …", "maxBufferSize: 4 GiB". */
  facts: string[];
  /** Bytes per second (read + written) the bandwidth kernel reached, and how it was measured. */
  bandwidth: number;
  bandwidthHow: string;
}

export interface Column {
  label: string;
  layers: number | null;
  m: ModelMeasurement;
}

/** Per-token (or per-call) times in ms, the quantities that grow linearly with the decoder's depth. */
interface Linear {
  visionMs: number;
  prefillMs: number;
  shortStepMs: number;
  longStepMs: number;
  reuseMs: number;
  reprefillMs: number;
  decoderBytes: number;
  kvBytesPerPosition: number;
}

function linearOf(m: ModelMeasurement): Linear {
  return {
    visionMs: m.visionMs,
    prefillMs: m.prefillMs,
    shortStepMs: 1000 / m.decodeShort.tokPerS,
    longStepMs: 1000 / m.decodeLong.tokPerS,
    reuseMs: m.followUp.reuseMs,
    reprefillMs: m.followUp.reprefillMs,
    decoderBytes: m.decoderBytes,
    kvBytesPerPosition: m.kvBytesPerPosition,
  };
}

/**
 * The measurement a model of `layers` layers would give, from two depths of the same shape: every quantity taken as
 * fixed + per-layer × layers (the vision tower does not depend on depth and keeps the deeper model's figure).
 */
export function extrapolate(a: Column, b: Column, layers: number): ModelMeasurement {
  const la = a.layers ?? 0;
  const lb = b.layers ?? 0;
  if (la === lb) throw new Error('extrapolation needs two different depths');
  const x = linearOf(a.m);
  const y = linearOf(b.m);
  // A cost that did not grow with depth is noise (another process slowed the shallower run): no estimate.
  const at = (k: keyof Linear): number => {
    const perLayer = (y[k] - x[k]) / (lb - la);
    return perLayer >= 0 ? y[k] + perLayer * (layers - lb) : Number.NaN;
  };
  const base = b.m;
  return {
    loadS: Number.NaN,
    visionMs: base.visionMs,
    prefillTokens: base.prefillTokens,
    prefillMs: at('prefillMs'),
    decodeShort: { ...base.decodeShort, tokPerS: 1000 / at('shortStepMs') },
    decodeLong: { ...base.decodeLong, tokPerS: 1000 / at('longStepMs') },
    followUp: { ...base.followUp, reuseMs: at('reuseMs'), reprefillMs: at('reprefillMs') },
    decoderBytes: at('decoderBytes'),
    kvBytesPerPosition: at('kvBytesPerPosition'),
  };
}

const fixed = (v: number, digits: number): string => (Number.isFinite(v) ? v.toFixed(digits) : 'n/a');
const gib = (bytes: number): string => `${(bytes / 2 ** 30).toFixed(2)} GiB`;

/** Decode speed as a share of what the bandwidth allows: bytes one step reads ÷ bandwidth. */
export function boundShare(
  m: ModelMeasurement,
  speed: 'decodeShort' | 'decodeLong',
  bandwidth: number,
): number {
  const d = m[speed];
  const bytes = m.decoderBytes + m.kvBytesPerPosition * d.context;
  return (d.tokPerS * bytes) / bandwidth;
}

function rowsOf(m: ModelMeasurement, bandwidth: number): string[] {
  const pct = (speed: 'decodeShort' | 'decodeLong') => {
    const share = boundShare(m, speed, bandwidth);
    return Number.isFinite(share) ? `${(100 * share).toFixed(1)} %` : 'n/a';
  };
  const decode = (speed: 'decodeShort' | 'decodeLong') =>
    `${fixed(m[speed].tokPerS, 1)} (ctx ${m[speed].context})`;
  return [
    fixed(m.loadS, 1),
    fixed(m.visionMs, 0),
    `${fixed((m.prefillTokens / m.prefillMs) * 1000, 0)} (${m.prefillTokens} tok)`,
    decode('decodeShort'),
    decode('decodeLong'),
    `${pct('decodeShort')} / ${pct('decodeLong')}`,
    gib(m.decoderBytes),
    `${fixed(m.followUp.reuseMs, 0)} vs ${fixed(m.followUp.reprefillMs, 0)} (${m.followUp.reusedTokens}/${m.followUp.promptTokens} reused)`,
  ];
}

const METRICS = [
  'load s',
  'vision encode ms (one picture)',
  'prefill tok/s (picture + ~40 text tokens)',
  'decode tok/s near 600 context',
  'decode tok/s near 2,000 context',
  'decode as % of bandwidth bound (600 / 2,000)',
  'decoder weights read per token',
  'follow-up first token ms: KV reuse vs re-prefill',
];

/** The markdown table: device facts first, then one column per model (and the 32-layer extrapolation). */
export function formatTable(
  device: DeviceFacts,
  columns: readonly Column[],
  extrapolated: Column | null,
): string {
  const all = extrapolated ? [...columns, extrapolated] : [...columns];
  const header = ['', ...all.map((c) => c.label)];
  const blank = all.map(() => '');
  const lines: string[][] = [
    ['backend', device.backend, ...blank.slice(1)],
    ...device.facts.map((f) => {
      const [k, ...v] = f.split(': ');
      return [k ?? f, v.join(': '), ...blank.slice(1)];
    }),
    [
      'measured bandwidth',
      `${(device.bandwidth / 1e9).toFixed(1)} GB/s (${device.bandwidthHow})`,
      ...blank.slice(1),
    ],
  ];
  const cells = all.map((c) => rowsOf(c.m, device.bandwidth));
  METRICS.forEach((metric, i) => lines.push([metric, ...cells.map((col) => col[i] ?? '')]));
  const rows = [header, header.map(() => '---'), ...lines];
  return rows.map((r) => `| ${r.join(' | ')} |`).join('\n');
}
