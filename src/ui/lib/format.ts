// Owns how numbers are shown to people (bytes, rates, durations). Pure functions, no DOM.

import { formatBytes } from '../../shared/format-bytes';

// Byte counts read the same in the UI as in the engine's and the store's messages.
export { formatBytes };

/** Bytes a second as "2.4 MB/s". */
export function formatRate(bytesPerS: number | undefined): string {
  if (bytesPerS === undefined || !Number.isFinite(bytesPerS) || bytesPerS <= 0) return '–';
  return `${formatBytes(bytesPerS)}/s`;
}

/** Seconds left as "42 s", "3 min 5 s", "1 h 2 min". */
export function formatEta(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '–';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** Milliseconds as "850 ms" or "1.2 s". */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return '–';
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** A percentage 0–100 for a progress bar; 0 when the total is unknown. */
export function percent(loaded: number, total: number): number {
  if (!(total > 0)) return 0;
  return Math.max(0, Math.min(100, (loaded / total) * 100));
}

/** A model's name without its trailing explanation in parentheses, for tight places (the header, card titles). */
export function shortModelName(name: string): string {
  return name.replace(/\s*\([^)]*\)\s*$/, '') || name;
}
