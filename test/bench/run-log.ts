// Owns timing every session.run of an ONNX Runtime module in a benchmark child (either contender), so decode time can
// be split into time inside the runtime and time outside it (the contender's own per-token work). Node children only.

export interface RunRecord {
  start: number;
  end: number;
  /** Rows of inputs_embeds (1 for a decode step), or 0 for other sessions. */
  rows: number;
  /** A vision encoder run (it is fed pixel_values). */
  vision: boolean;
}

const runs: RunRecord[] = [];

interface SessionLike {
  run(...args: unknown[]): Promise<unknown>;
}

/** Wraps `InferenceSession.create` of an onnxruntime module (node or web) so every run of every session is logged. */
export function instrumentOrt(ort: { InferenceSession: object }): void {
  const factory = ort.InferenceSession as { create: (...args: unknown[]) => Promise<SessionLike> };
  const create = factory.create.bind(factory);
  factory.create = async (...args: unknown[]) => {
    const session = await create(...args);
    const run = session.run.bind(session);
    session.run = async (...runArgs: unknown[]) => {
      const feeds = runArgs[0] as Record<string, { dims?: readonly number[] }>;
      const start = performance.now();
      const out = await run(...runArgs);
      runs.push({
        start,
        end: performance.now(),
        rows: feeds.inputs_embeds?.dims?.[1] ?? 0,
        vision: 'pixel_values' in feeds,
      });
      return out;
    };
    return session;
  };
}

/** Marks where a turn's runs begin. */
export function runMark(): number {
  return runs.length;
}

/** The runs logged since `mark`, oldest first. */
export function runsSince(mark: number): readonly RunRecord[] {
  return runs.slice(mark);
}

/**
 * Decode steps of the runs since `mark`: from the end of the prefill (the first decoder run over several rows) to
 * the end of the last one-row decoder run. Returns the steps, the wall time and the time spent inside runs.
 */
export function decodeSplit(mark: number): { steps: number; wallMs: number; ortMs: number } | null {
  const turn = runs.slice(mark);
  const prefill = turn.findIndex((r) => r.rows > 1);
  if (prefill < 0) return null;
  const after = turn.slice(prefill + 1);
  const steps = after.filter((r) => r.rows === 1);
  const last = steps[steps.length - 1];
  if (!last) return null;
  const from = (turn[prefill] as RunRecord).end;
  const inside = after.filter((r) => r.end <= last.end).reduce((a, r) => a + (r.end - r.start), 0);
  return { steps: steps.length, wallMs: last.end - from, ortMs: inside };
}
