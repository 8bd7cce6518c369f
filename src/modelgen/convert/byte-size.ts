// Owns reading byte counts given on the converter's command line ("800MB", "1.5GiB", "123456"). Pure.
import { ConvertError } from './errors';

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};

/** Parses a byte count with an optional unit (KB/MB/GB decimal, KiB/MiB/GiB binary). @throws ConvertError('bad-argument') */
export function parseByteSize(text: string, flag: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = UNITS[(m?.[2] ?? '').toLowerCase()];
  const value = m === null || unit === undefined ? NaN : Math.floor(Number(m[1]) * unit);
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new ConvertError(
      'bad-argument',
      `${flag} "${text}" is not a byte count (e.g. 800MB, 1GiB or 800000000).`,
    );
  }
  return value;
}
