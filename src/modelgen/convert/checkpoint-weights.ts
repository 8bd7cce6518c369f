// Owns the weight provider the graph builders read from while converting: a WeightMap of shapes (canonical llava-hf
// names) whose values exist only while the streaming data pass holds that one tensor, so the converter never holds
// more than the tensor in flight. Also checks a checkpoint against the config before anything is written.
import { throwIfAborted } from '../../shared/abort';
import type { F32Tensor, LlavaHfConfig } from '../llava/types';
import { listWeights } from '../llava/weight-spec';
import type { Checkpoint } from './checkpoint';
import { WIDENED_DTYPE_BYTES } from './chunk-widener';
import { ConvertError } from './errors';
import { ORIGINAL_EMBEDDED_VISION_PROBE, sourceName, type CheckpointNaming, type SourceName } from './naming';
import { RowBlockWidener, type RowBlockSink } from './row-blocks';

export const EMBED_NAME = 'language_model.model.embed_tokens.weight';

export interface CheckpointWeightsOptions {
  main: Checkpoint;
  clip: Checkpoint | null;
  naming: CheckpointNaming;
  projector: 'linear' | 'mlp2x_gelu';
  /** Pad embed_tokens with zero rows up to this many (room for an `<image>` token the checkpoint never had). */
  embedRows?: number;
  signal?: AbortSignal;
}

/**
 * A `WeightMap` over checkpoint files for a two-pass build: `get(name)` hands out the tensor's shape (from the header)
 * and a `data` that exists only while the converter's data pass holds that tensor (`hold`), so the graph builders
 * declare every weight-derived initializer with its shape and a fill, and the fills run when the tensor streams past.
 * `has(name)` looks at headers only. Iterating values is refused: it would load everything.
 */
export class CheckpointWeights extends Map<string, F32Tensor> {
  /** Tensors and bytes (as float32) read so far, for progress reports. */
  reads = 0;
  bytesRead = 0;
  private readonly held = new Map<string, F32Tensor>();
  /** The float32 buffer the tensor in flight is widened into: as large as the largest tensor so far. */
  private arena = new Float32Array(0);
  /** The buffer a tensor streamed in row blocks is widened into, one block at a time. */
  private rowArena = new Float32Array(0);
  private readonly mainHasVision: boolean;

  constructor(private readonly o: CheckpointWeightsOptions) {
    super();
    this.mainHasVision = o.naming === 'original' && o.main.has(ORIGINAL_EMBEDDED_VISION_PROBE);
  }

  /** Where a canonical tensor lives, or null when its checkpoint is absent. */
  locate(name: string): { checkpoint: Checkpoint; source: SourceName } | null {
    const source = sourceName(name, this.o.naming, {
      projector: this.o.projector,
      mainHasVision: this.mainHasVision,
    });
    const checkpoint = source.where === 'main' ? this.o.main : this.o.clip;
    return checkpoint === null ? null : { checkpoint, source };
  }

  override has(name: string): boolean {
    const at = this.locate(name);
    return at !== null && at.checkpoint.has(at.source.name);
  }

  /** The tensor's shape now; its `data` only while the data pass holds it (reading it earlier is a bug: throws). */
  override get(name: string): F32Tensor | undefined {
    throwIfAborted(this.o.signal);
    const at = this.locate(name);
    if (at === null || !at.checkpoint.has(at.source.name)) return undefined;
    let dims = [...at.checkpoint.entry(at.source.name).shape];
    if (name === EMBED_NAME && this.o.embedRows !== undefined && (dims[0] ?? 0) < this.o.embedRows)
      dims = [this.o.embedRows, ...dims.slice(1)];
    const held = this.held;
    return {
      dims,
      get data(): Float32Array {
        const t = held.get(name);
        if (t === undefined) throw new Error(`${name} was read outside the data pass`);
        return t.data;
      },
    };
  }

  /** Where the one checkpoint tensor behind `names` lives, and the shape each name gives it. */
  private shapes(names: readonly string[]): {
    at: { checkpoint: Checkpoint; source: SourceName };
    forms: Array<{ name: string; dims: number[]; elements: number }>;
  } {
    const first = names[0];
    const at = first === undefined ? null : this.locate(first);
    if (at === null || first === undefined) throw new Error(`${first ?? 'no tensor'} has no checkpoint`);
    const forms = names.map((name) => {
      const other = this.locate(name);
      if (other?.checkpoint !== at.checkpoint || other.source.name !== at.source.name)
        throw new Error(`${name} is not the tensor ${at.source.name}`);
      const dims = (this.get(name) as F32Tensor).dims;
      return { name, dims, elements: dims.reduce((a, b) => a * b, 1) };
    });
    return { at, forms };
  }

  /**
   * Starts holding the one checkpoint tensor behind `names` (canonical names that read it): its float32 form (tall
   * enough for a padded embed_tokens, whose extra rows are zero) takes the start of a buffer reused from tensor to
   * tensor, and the returned widener fills it as its bytes stream past. Its `finish` holds it under every name until
   * `release` (and returns its buffer); the next `receive` overwrites it, so nothing may keep a view of it past the
   * sink's next commit (FileSink.writeAt): meanwhile the fills
   * of the initializers made from it can read it. Nothing else of the tensor is kept: no copy of its source bytes.
   */
  receive(names: readonly string[]): {
    push(piece: Uint8Array): void;
    finish(): ArrayBufferLike;
    bytes: number;
  } {
    const { at, forms } = this.shapes(names);
    const elements = Math.max(...forms.map((f) => f.elements));
    // One buffer serves every tensor in turn (grown when a larger one comes): the previous tensor's float32 form is
    // not left for the collector beside the next one, and reused memory is not faulted in again.
    if (this.arena.length < elements) {
      this.arena = new Float32Array(0);
      this.arena = new Float32Array(elements);
    }
    const data = this.arena.subarray(0, elements);
    const widener = at.checkpoint.widener(at.source.name, data);
    const stored = at.checkpoint.entry(at.source.name).shape.reduce((a, b) => a * b, 1);
    return {
      bytes: data.byteLength,
      push: (piece) => widener.push(piece),
      finish: () => {
        widener.finish();
        // Padding rows (an embed table grown for added tokens) are zeros, whatever an earlier tensor left there.
        data.fill(0, stored);
        this.reads++;
        this.bytesRead += data.byteLength;
        for (const f of forms) this.held.set(f.name, { dims: f.dims, data: data.subarray(0, f.elements) });
        return data.buffer;
      },
    };
  }

  /**
   * Whether the one checkpoint tensor behind `names` can stream in row blocks ({@link receiveRows}): a dtype the
   * converter widens (any other fails in {@link receive} with its clear error).
   */
  streamsRows(names: readonly string[]): boolean {
    const at = this.shapes(names).at;
    return WIDENED_DTYPE_BYTES[at.checkpoint.entry(at.source.name).dtype] !== undefined;
  }

  /**
   * Streams the one checkpoint tensor behind `names` as blocks of whole rows (its first axis) widened into a buffer
   * of about `blockBytes` (at least one row; reused from tensor to tensor), handed to `each` as each completes, zero
   * rows after the stored ones for a padded embed_tokens. Nothing is held under the names: whatever reads the tensor
   * takes it from the blocks.
   */
  receiveRows(
    names: readonly string[],
    blockBytes: number,
    each: RowBlockSink,
  ): { push(piece: Uint8Array): void | Promise<void>; finish(): Promise<void>; bytes: number } {
    const { at, forms } = this.shapes(names);
    const entry = at.checkpoint.entry(at.source.name);
    const rowsOf = (dims: readonly number[]): number => dims[0] ?? 1;
    const width = entry.shape.slice(1).reduce((a, b) => a * b, 1);
    const total = Math.max(...forms.map((f) => rowsOf(f.dims)));
    const elements = Math.min(total, Math.max(1, Math.floor(blockBytes / 4 / Math.max(width, 1)))) * width;
    if (this.rowArena.length < elements) {
      this.rowArena = new Float32Array(0);
      this.rowArena = new Float32Array(elements);
    }
    const block = this.rowArena.subarray(0, Math.max(elements, 1));
    const rows = new RowBlockWidener(entry.dtype, rowsOf(entry.shape), total, width, block, each);
    return {
      bytes: block.byteLength,
      push: (piece) => rows.push(piece),
      finish: async () => {
        await rows.finish();
        this.reads++;
        this.bytesRead += total * width * 4;
      },
    };
  }

  release(name: string): void {
    this.held.delete(name);
  }

  /** Frees the reused float32 buffer once the data pass is over (the protobufs are written without it). */
  endPass(): void {
    this.held.clear();
    this.arena = new Float32Array(0);
    this.rowArena = new Float32Array(0);
  }

  override set(): this {
    throw new Error('CheckpointWeights is read-only');
  }

  override forEach(): void {
    throw new Error('CheckpointWeights does not iterate values: that would load the whole checkpoint');
  }

  override values(): MapIterator<F32Tensor> {
    throw new Error('CheckpointWeights does not iterate values: that would load the whole checkpoint');
  }

  override entries(): MapIterator<[string, F32Tensor]> {
    throw new Error('CheckpointWeights does not iterate values: that would load the whole checkpoint');
  }

  override [Symbol.iterator](): MapIterator<[string, F32Tensor]> {
    return this.entries();
  }

  /**
   * Checks, from headers alone, that every tensor `config` implies is present with the shape it implies.
   * @throws ConvertError 'missing-tensor' | 'shape-mismatch' | 'missing-file'
   */
  check(config: LlavaHfConfig): void {
    for (const spec of listWeights(config)) {
      const at = this.locate(spec.name);
      if (at === null) {
        throw new ConvertError(
          'missing-file',
          `The vision tower (${spec.name}) is not in the LLaVA checkpoint. Pass the CLIP checkpoint folder with --clip DIR.`,
        );
      }
      const { checkpoint, source } = at;
      if (!checkpoint.has(source.name)) {
        throw new ConvertError(
          'missing-tensor',
          `The checkpoint in ${checkpoint.dir} has no tensor ${source.name}` +
            (source.name === spec.name ? '' : ` (our ${spec.name})`) +
            '. The download is incomplete, or the config does not describe these weights. Download every shard again.',
          { details: { tensor: source.name, canonical: spec.name } },
        );
      }
      const dims = checkpoint.entry(source.name).shape;
      if (dims.length !== spec.dims.length || dims.some((d, i) => d !== spec.dims[i])) {
        throw new ConvertError(
          'shape-mismatch',
          `${source.name} in ${checkpoint.dir} is [${dims.join(', ')}] but config.json implies ` +
            `[${spec.dims.join(', ')}]. The config and the weights belong to different models.`,
          { details: { tensor: source.name, actual: dims, expected: spec.dims } },
        );
      }
    }
  }
}
