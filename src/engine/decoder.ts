// Owns the text side's sessions: embed_tokens (ids → rows) and one decoder_model_merged step (embeds + past KV →
// last-position logits + present KV). Driven by the graphs' declared I/O; it must not sample or manage caches.

import { EngineError } from '../shared/errors';
import { EmbeddingRows } from './embed-rows';
import type { OrtRuntime, OrtSession, OrtTensor } from './runtime';
import {
  allocFloat,
  convertFloat,
  floatsOf,
  floatTensor,
  int64Tensor,
  readFloatData,
  type FloatData,
  type FloatType,
} from './tensor-utils';

/** past_key_values.* input name → tensor [batch, kvHeads, seq, headDim]. */
export type KvTensors = Map<string, OrtTensor>;

export interface DecoderShape {
  numKeyValueHeads: number;
  headDim: number;
  hiddenSize: number;
}

export interface StepResult {
  /** Logits of the last position only. */
  logits: Float32Array;
  /** New KV, keyed by the past_key_values.* names they feed next. */
  present: KvTensors;
}

/** The last row of a [.., rows, vocab] logits tensor that lives on a device (downloaded, then cut). */
async function lastRowOf(t: OrtTensor, vocab: number): Promise<Float32Array> {
  const { data, type } = await readFloatData(t);
  const row = data.subarray(data.length - vocab);
  return convertFloat(row, type, 'float32') as Float32Array;
}

const EMPTY = new Float32Array(0);

function metaOf(session: OrtSession, name: string) {
  const m = session.inputMetadata.find((x) => x.name === name);
  return m && m.isTensor ? m : undefined;
}

/** Wraps embed_tokens + decoder_model_merged as transformers.js exports them. */
export class Decoder {
  readonly pastNames: string[];
  /** present.* output name → past_key_values.* input name. */
  private readonly presentToPast = new Map<string, string>();
  readonly embedType: FloatType;
  readonly kvType: FloatType;
  private readonly kvHeads: number;
  private readonly headDim: number;
  private readonly hasPositionIds: boolean;
  private readonly hasLogitsToKeep: boolean;
  private readonly hasUseCacheBranch: boolean;
  private ones = new BigInt64Array(0);
  private readonly rows = new EmbeddingRows();

  constructor(
    private readonly ort: OrtRuntime,
    private readonly embedSession: OrtSession,
    private readonly session: OrtSession,
    private readonly shape: DecoderShape,
  ) {
    const inputs = session.inputNames;
    if (!inputs.includes('inputs_embeds') || !inputs.includes('attention_mask')) {
      throw new EngineError(
        'bad-model',
        'The decoder does not take inputs_embeds and attention_mask. Re-export the model.',
      );
    }
    this.pastNames = inputs.filter((n) => n.startsWith('past_key_values.'));
    for (const out of session.outputNames) {
      if (!out.startsWith('present')) continue;
      const past = out.replace(/^present/, 'past_key_values');
      if (this.pastNames.includes(past)) this.presentToPast.set(out, past);
    }
    if (this.pastNames.length === 0 || this.presentToPast.size !== this.pastNames.length) {
      throw new EngineError(
        'bad-model',
        'The decoder has no matching past_key_values / present outputs. Re-export the model.',
      );
    }
    const pastMeta = metaOf(session, this.pastNames[0] as string);
    this.kvType = pastMeta?.type === 'float16' ? 'float16' : 'float32';
    const dims = pastMeta?.shape ?? [];
    // Numeric dims in the graph win over config values (GQA models declare them).
    this.kvHeads = typeof dims[1] === 'number' ? dims[1] : shape.numKeyValueHeads;
    this.headDim = typeof dims[3] === 'number' ? dims[3] : shape.headDim;
    this.embedType = metaOf(session, 'inputs_embeds')?.type === 'float16' ? 'float16' : 'float32';
    this.hasPositionIds = inputs.includes('position_ids');
    this.hasLogitsToKeep = inputs.includes('num_logits_to_keep');
    this.hasUseCacheBranch = inputs.includes('use_cache_branch');
  }

  /** Whether the graph cuts logits to the last positions itself (`num_logits_to_keep`). */
  get keepsLastLogitsOnly(): boolean {
    return this.hasLogitsToKeep;
  }

  /** Names of the present.* outputs (to ask for them on the GPU). */
  get presentNames(): string[] {
    return [...this.presentToPast.keys()];
  }

  /** Empty KV for the first step: [1, kvHeads, 0, headDim] per layer. */
  emptyPast(): KvTensors {
    const out: KvTensors = new Map();
    for (const name of this.pastNames) {
      out.set(
        name,
        floatTensor(this.ort, this.kvType, allocFloat(this.kvType, 0), [1, this.kvHeads, 0, this.headDim]),
      );
    }
    return out;
  }

  /**
   * Embedding rows of `ids` ([ids.length × hiddenSize], in the decoder's input dtype, a fresh array the caller may
   * write). Only ids not embedded before run through embed_tokens, each once.
   * @throws EngineError('inference-failed')
   */
  async embed(ids: readonly number[]): Promise<FloatData> {
    const hidden = this.shape.hiddenSize;
    const found = new Map<number, FloatData>();
    const missing: number[] = [];
    for (const id of ids) {
      if (found.has(id)) continue;
      const row = this.rows.get(id);
      if (row) found.set(id, row);
      else {
        found.set(id, EMPTY);
        missing.push(id);
      }
    }
    if (missing.length > 0) {
      const data = await this.runEmbed(missing);
      missing.forEach((id, k) => {
        const row = data.slice(k * hidden, (k + 1) * hidden);
        found.set(id, row);
        this.rows.set(id, row);
      });
    }
    const out = allocFloat(this.embedType, ids.length * hidden);
    ids.forEach((id, i) => out.set(found.get(id) as FloatData, i * hidden));
    return out;
  }

  private async runEmbed(ids: readonly number[]): Promise<FloatData> {
    // A placeholder outside the table (LLaVA's image index -200) is looked up as row 0, not left to Gather's
    // count-from-the-end rule, which not every execution provider honours: its rows become image features anyway.
    const input = int64Tensor(
      this.ort,
      ids.map((id) => (id < 0 ? 0 : id)),
      [1, ids.length],
    );
    try {
      const inName = this.embedSession.inputNames[0] as string;
      const outName = this.embedSession.outputNames.includes('inputs_embeds')
        ? 'inputs_embeds'
        : (this.embedSession.outputNames[0] as string);
      const result = await this.embedSession.run({ [inName]: input });
      const out = result[outName] as OrtTensor;
      const { data, type } = await readFloatData(out);
      out.dispose();
      return convertFloat(data, type, this.embedType);
    } catch (cause) {
      throw new EngineError(
        'inference-failed',
        'Embedding the prompt failed. Reload the model and try again.',
        {
          cause,
        },
      );
    } finally {
      input.dispose();
    }
  }

  /**
   * One decoder step over `seqLen` new rows after `pastLen` cached positions. Position ids follow HF:
   * cumsum(attention_mask) - 1 with an all-ones mask, i.e. pastLen … pastLen+seqLen-1.
   * Only the last position's logits come back: through `num_logits_to_keep` when the graph has it; otherwise the
   * rows before the last run without fetching logits and the last row runs alone, so a long prompt's
   * [seqLen × vocab] logits never leave the device. The caller owns `past` (dispose it once the step succeeded).
   * @throws EngineError('inference-failed')
   */
  async step(embeds: FloatData, seqLen: number, past: KvTensors, pastLen: number): Promise<StepResult> {
    if (this.hasLogitsToKeep || seqLen === 1) return this.run(embeds, seqLen, past, pastLen, true);
    const hidden = this.shape.hiddenSize;
    const head = await this.run(embeds.subarray(0, (seqLen - 1) * hidden), seqLen - 1, past, pastLen, false);
    try {
      return await this.run(
        embeds.subarray((seqLen - 1) * hidden),
        1,
        head.present,
        pastLen + seqLen - 1,
        true,
      );
    } finally {
      for (const t of head.present.values()) t.dispose();
    }
  }

  /** An int64 [1, n] mask of ones; the buffer grows and is shared, never written after it is filled. */
  private maskOf(n: number): OrtTensor {
    if (this.ones.length < n) this.ones = new BigInt64Array(Math.max(n, this.ones.length * 2)).fill(1n);
    return new this.ort.Tensor('int64', this.ones.subarray(0, n), [1, n]);
  }

  private async run(
    embeds: FloatData,
    seqLen: number,
    past: KvTensors,
    pastLen: number,
    wantLogits: boolean,
  ): Promise<StepResult> {
    const total = pastLen + seqLen;
    const feeds: Record<string, OrtTensor> = {
      inputs_embeds: floatTensor(this.ort, this.embedType, embeds, [1, seqLen, this.shape.hiddenSize]),
      attention_mask: this.maskOf(total),
    };
    if (this.hasPositionIds) {
      const positions = new BigInt64Array(seqLen);
      for (let i = 0; i < seqLen; i++) positions[i] = BigInt(pastLen + i);
      feeds.position_ids = new this.ort.Tensor('int64', positions, [1, seqLen]);
    }
    if (this.hasLogitsToKeep) feeds.num_logits_to_keep = int64Tensor(this.ort, [1], []);
    if (this.hasUseCacheBranch) feeds.use_cache_branch = new this.ort.Tensor('bool', [pastLen > 0], [1]);
    for (const name of this.pastNames) {
      const t = past.get(name);
      if (!t) throw new EngineError('inference-failed', `Missing KV tensor ${name}. Reload the model.`);
      feeds[name] = t;
    }
    let result: Record<string, OrtTensor>;
    try {
      result = (await (wantLogits
        ? this.session.run(feeds)
        : this.session.run(feeds, this.presentNames))) as Record<string, OrtTensor>;
    } catch (cause) {
      throw new EngineError(
        'inference-failed',
        'The language model failed while generating. Try again or reload.',
        {
          cause,
        },
      );
    } finally {
      for (const [name, t] of Object.entries(feeds)) if (!name.startsWith('past_key_values.')) t.dispose();
    }
    const present: KvTensors = new Map();
    let logits: Float32Array | null = null;
    for (const [name, t] of Object.entries(result)) {
      const past = this.presentToPast.get(name);
      if (past) present.set(past, t);
      else if (name === 'logits') {
        const vocab = t.dims[t.dims.length - 1] as number;
        const all = t.location === 'cpu' ? floatsOf(t) : null;
        logits = all ? all.slice(all.length - vocab) : await lastRowOf(t, vocab);
        t.dispose();
      } else t.dispose();
    }
    if (wantLogits && !logits) {
      for (const t of present.values()) t.dispose();
      throw new EngineError('bad-model', 'The decoder returned no logits. Re-export the model.');
    }
    return { logits: logits ?? new Float32Array(0), present };
  }

  async release(): Promise<void> {
    await Promise.all([this.embedSession.release(), this.session.release()]);
  }
}
