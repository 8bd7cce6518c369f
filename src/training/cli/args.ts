// Owns parsing the micro CLIs' `--name value` flags (no positional arguments). Pure.

/** Parses `--key value` and `--flag` pairs; unknown keys are kept for the caller to reject. */
export function parseArgs(argv: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) throw new Error(`unexpected argument "${a}" (flags look like --name value)`);
    const next = argv[i + 1];
    if (next === undefined || next.startsWith('--')) out.set(a.slice(2), 'true');
    else {
      out.set(a.slice(2), next);
      i++;
    }
  }
  return out;
}

/** Throws on flags the command does not know, naming the ones it does. */
export function checkKnown(args: Map<string, string>, known: readonly string[]): void {
  for (const k of args.keys()) {
    if (!known.includes(k))
      throw new Error(`unknown flag --${k} (known: ${known.map((x) => `--${x}`).join(', ')})`);
  }
}

export function numberArg(args: Map<string, string>, key: string, fallback: number): number {
  const v = args.get(key);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`--${key} needs a number, got "${v}"`);
  return n;
}
