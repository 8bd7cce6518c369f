// Owns what a conversion will cost, computed before any tensor byte is read: from the checked config and the
// safetensors headers (not from catalog figures) — the bytes it downloads, what each output component weighs in its
// chosen precision, the storage it needs (output + the one graph staged before it is stored) and the GPU memory the
// converted model needs. Pure arithmetic; front ends check it against their quota and show it.
import type { LlavaHfConfig } from '../llava/types';
import { listWeights, llavaDims } from '../llava/weight-spec';
import { linearBytes, type ConvertDtype, type ShardPlanEntry } from './shard-plan';

export interface ConversionPlan {
  /** Tensor bytes the conversion downloads (the checkpoint's tensors it uses, in their stored dtype). */
  downloadBytes: number;
  /** Tensors it reads. */
  tensors: number;
  /** The largest tensor as the converter holds it (float32), the unit its memory is bounded by. */
  largestTensorBytes: number;
  dtypes: { vision_encoder: ConvertDtype; embed_tokens: 'fp32' | 'fp16' | 'q8'; decoder: ConvertDtype };
  /** Bytes of each output component (decoder: one entry per shard). */
  outputBytes: { vision_encoder: number; embed_tokens: number; decoder: number[] };
  /** Storage the conversion needs at its peak: the output plus the largest graph, staged before it is stored. */
  storageBytes: number;
  /** GPU memory of the converted model: weights as loaded + a 2,048-token KV cache + activations (an estimate). */
  gpuBytes: number;
  shards: ShardPlanEntry[];
}

/** Context length the GPU estimate provisions a KV cache for. */
export const PLAN_CONTEXT_TOKENS = 2048;

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

/**
 * The plan for converting a checkpoint whose tensors (names as `config` implies them) have the byte sizes
 * `sourceBytes(name)` returns (null for a tensor that is not read, e.g. a tower taken from elsewhere).
 */
export function planConversion(
  config: LlavaHfConfig,
  sourceBytes: (name: string) => number | null,
  dtypes: ConversionPlan['dtypes'],
  shards: ShardPlanEntry[],
): ConversionPlan {
  const d = llavaDims(config);
  let downloadBytes = 0;
  let tensors = 0;
  let largest = 0;
  let vision = 0;
  let visionLoaded = 0;
  for (const spec of listWeights(config)) {
    const elements = spec.dims.reduce((a, b) => a * b, 1);
    // The converter never reads the tower's final norm nor the layers past the selected hidden state.
    const layer = /encoder\.layers\.(\d+)\./.exec(spec.name)?.[1];
    const unused =
      spec.name.includes('post_layernorm') || (layer !== undefined && Number(layer) >= d.visionLayersUsed);
    const bytes = unused ? null : sourceBytes(spec.name);
    if (bytes !== null) {
      downloadBytes += bytes;
      tensors++;
      largest = Math.max(largest, elements * 4);
    }
    if (unused || (!spec.name.startsWith('vision_tower') && !spec.name.startsWith('multi_modal_projector')))
      continue;
    const [n, k] = spec.dims as [number, number];
    if (spec.role === 'linear') {
      vision += linearBytes(n, k, dtypes.vision_encoder);
      // fp16 weights are Cast back to float32 when the session is created.
      visionLoaded += linearBytes(n, k, dtypes.vision_encoder === 'fp16' ? 'fp32' : dtypes.vision_encoder);
    } else {
      const size = (dtypes.vision_encoder === 'fp16' && spec.dims.length >= 2 ? 2 : 4) * elements;
      vision += size;
      visionLoaded += 4 * elements;
    }
  }
  const embedElements = d.vocab * d.textHidden;
  const embed = embedElements * (dtypes.embed_tokens === 'fp32' ? 4 : dtypes.embed_tokens === 'fp16' ? 2 : 1);
  const decoder = shards.map((s) => s.bytes);
  const output = vision + embed + sum(decoder);
  const kv = 2 * d.textLayers * d.kvHeads * d.headDim * PLAN_CONTEXT_TOKENS * 4;
  // Activations of one decoder step over a full context: hidden states, the MLP's widest tensor, attention scores
  // and the logits row, with room for onnxruntime's copies.
  const activations =
    4 * PLAN_CONTEXT_TOKENS * (4 * d.textHidden + 2 * d.intermediate + d.heads * PLAN_CONTEXT_TOKENS) +
    4 * d.vocab;
  const loaded = visionLoaded + (dtypes.embed_tokens === 'fp16' ? embedElements * 4 : embed) + sum(decoder);
  return {
    downloadBytes,
    tensors,
    largestTensorBytes: largest,
    dtypes,
    outputBytes: { vision_encoder: vision, embed_tokens: embed, decoder },
    storageBytes: output + Math.max(vision, embed, ...decoder),
    gpuBytes: loaded + kv + activations,
    shards,
  };
}
