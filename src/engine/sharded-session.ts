// Owns running a decoder split into shard sessions as if it were one `decoder_model_merged` session: the first shard
// takes inputs_embeds, each later one the previous shard's hidden states (left where the backend put them: a GPU
// buffer on WebGPU, CPU memory on WASM), every shard takes and returns the KV of its own layers. It must not pick
// files or create sessions (decoder-shards.ts does) and knows nothing of sampling or caches.
import type { InferenceSession } from 'onnxruntime-common';
import type { OrtSession, OrtTensor } from './runtime';

/** Input name of a shard that continues from another shard (as the converter writes it). */
export const SHARD_HIDDEN_INPUT = 'hidden_states';
/** Output name of a shard that hands its hidden states on. */
export const SHARD_HIDDEN_OUTPUT = 'hidden_states_out';

type Metadata = InferenceSession.ValueMetadata;

function unionBy<T>(lists: readonly (readonly T[])[], key: (t: T) => string, skip: ReadonlySet<string>): T[] {
  const seen = new Set<string>();
  const out: T[] = [];
  for (const list of lists) {
    for (const item of list) {
      const k = key(item);
      if (skip.has(k) || seen.has(k)) continue;
      seen.add(k);
      out.push(item);
    }
  }
  return out;
}

function disposeAll(tensors: Iterable<OrtTensor>): void {
  for (const t of tensors) t.dispose();
}

/**
 * One decoder over N shard sessions, given in layer order. Its inputs are the union of the shards' inputs (without
 * the internal hidden_states) and its outputs the union of their outputs (without hidden_states_out), so code
 * written for a single decoder session runs it unchanged. `run` with fetches asks each shard only for the named
 * outputs it has, plus the hidden states the next shard needs.
 */
export class ShardedSession implements OrtSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata: readonly Metadata[];
  readonly outputMetadata: readonly Metadata[];

  constructor(private readonly shards: readonly OrtSession[]) {
    if (shards.length === 0) throw new RangeError('a sharded decoder needs at least one shard');
    const hiddenIn = new Set([SHARD_HIDDEN_INPUT]);
    const hiddenOut = new Set([SHARD_HIDDEN_OUTPUT]);
    this.inputNames = unionBy(
      shards.map((s) => s.inputNames),
      (n) => n,
      hiddenIn,
    );
    this.outputNames = unionBy(
      shards.map((s) => s.outputNames),
      (n) => n,
      hiddenOut,
    );
    this.inputMetadata = unionBy(
      shards.map((s) => s.inputMetadata),
      (m) => m.name,
      hiddenIn,
    );
    this.outputMetadata = unionBy(
      shards.map((s) => s.outputMetadata),
      (m) => m.name,
      hiddenOut,
    );
  }

  get shardCount(): number {
    return this.shards.length;
  }

  run(
    feeds: InferenceSession.FeedsType,
    options?: InferenceSession.RunOptions,
  ): Promise<InferenceSession.ReturnType>;
  run(
    feeds: InferenceSession.FeedsType,
    fetches: InferenceSession.FetchesType,
    options?: InferenceSession.RunOptions,
  ): Promise<InferenceSession.ReturnType>;
  async run(
    feeds: InferenceSession.FeedsType,
    fetchesOrOptions?: InferenceSession.FetchesType | InferenceSession.RunOptions,
    maybeOptions?: InferenceSession.RunOptions,
  ): Promise<InferenceSession.ReturnType> {
    let wanted: ReadonlySet<string> | null = null;
    let options: InferenceSession.RunOptions | undefined;
    if (Array.isArray(fetchesOrOptions)) {
      wanted = new Set(fetchesOrOptions as readonly string[]);
      options = maybeOptions;
    } else if (maybeOptions !== undefined) {
      // A fetches map (preallocated outputs are not supported across shards: take its names only).
      wanted = new Set(Object.keys(fetchesOrOptions ?? {}));
      options = maybeOptions;
    } else {
      options = fetchesOrOptions as InferenceSession.RunOptions | undefined;
    }
    const out: Record<string, OrtTensor> = {};
    let hidden: OrtTensor | null = null;
    try {
      for (const [k, shard] of this.shards.entries()) {
        const last = k === this.shards.length - 1;
        const shardFeeds: Record<string, OrtTensor> = {};
        for (const name of shard.inputNames) {
          const value = name === SHARD_HIDDEN_INPUT ? hidden : (feeds[name] as OrtTensor | undefined);
          if (value === undefined || value === null)
            throw new Error(`decoder shard ${k + 1}: input ${name} was not fed`);
          shardFeeds[name] = value;
        }
        const fetch = shard.outputNames.filter(
          (n) =>
            (wanted === null || wanted.has(n) || n === SHARD_HIDDEN_OUTPUT) &&
            !(last && n === SHARD_HIDDEN_OUTPUT),
        );
        const result = (await (options === undefined
          ? shard.run(shardFeeds, fetch)
          : shard.run(shardFeeds, fetch, options))) as Record<string, OrtTensor>;
        // The hidden states handed to this shard were ours (the previous shard's output): free them now.
        hidden?.dispose();
        hidden = null;
        for (const [name, t] of Object.entries(result)) {
          if (name === SHARD_HIDDEN_OUTPUT && !last) hidden = t;
          else out[name] = t;
        }
        if (!last && hidden === null)
          throw new Error(`decoder shard ${k + 1} returned no ${SHARD_HIDDEN_OUTPUT}`);
      }
    } catch (error) {
      hidden?.dispose();
      disposeAll(Object.values(out));
      throw error;
    }
    return out;
  }

  async release(): Promise<void> {
    await Promise.all(this.shards.map((s) => s.release()));
  }

  startProfiling(): void {
    for (const s of this.shards) s.startProfiling();
  }

  endProfiling(): void {
    for (const s of this.shards) s.endProfiling();
  }
}
