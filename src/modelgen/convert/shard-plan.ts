// Owns splitting the decoder into shards of consecutive layers whose weights fit a byte budget, from the config
// (the bytes each tensor takes in each output precision) and the measured fixed cost of a shard graph. Pure
// arithmetic: no files, no graphs.
import type { LlavaHfConfig } from '../llava/types';
import { llavaDims } from '../llava/weight-spec';
import { ConvertError } from './errors';

/** Output precisions of a converted component. */
export type ConvertDtype = 'fp32' | 'fp16' | 'q8' | 'q4';

/** q4 block size along K (MatMulNBits `block_size`). */
export const Q4_BLOCK = 32;

/** Bytes a Linear weight [n, k] takes in the graph of `dtype` (q4: codes + fp32 scales + 4-bit zero points). */
export function linearBytes(n: number, k: number, dtype: ConvertDtype): number {
  switch (dtype) {
    case 'fp32':
      return 4 * n * k;
    case 'fp16':
      return 2 * n * k;
    case 'q8':
      return n * k + 5;
    case 'q4': {
      const blocks = Math.ceil(k / Q4_BLOCK);
      return n * blocks * (Q4_BLOCK / 2) + n * blocks * 4 + n * Math.ceil(blocks / 2);
    }
  }
}

/** Weight bytes of decoder layer `i`'s graph (projections in `dtype`, norms and biases float32). */
export function decoderLayerBytes(config: LlavaHfConfig, dtype: ConvertDtype): number {
  const d = llavaDims(config);
  const D = d.textHidden;
  const q = d.heads * d.headDim;
  const kv = d.kvHeads * d.headDim;
  let bytes =
    linearBytes(q, D, dtype) +
    2 * linearBytes(kv, D, dtype) +
    linearBytes(D, q, dtype) +
    2 * linearBytes(d.intermediate, D, dtype) +
    linearBytes(D, d.intermediate, dtype) +
    2 * 4 * D;
  if (config.text_config.model_type === 'qwen2') bytes += 4 * (q + 2 * kv);
  return bytes;
}

/** Weight bytes the last shard adds: final norm and lm_head (a copy of embed_tokens when tied). */
export function decoderHeadBytes(config: LlavaHfConfig, dtype: ConvertDtype): number {
  const d = llavaDims(config);
  return 4 * d.textHidden + linearBytes(d.vocab, d.textHidden, dtype);
}

export interface ShardPlanEntry {
  /** Layers [start, end). */
  layers: [number, number];
  /** Estimated weight bytes of the shard's graph. */
  bytes: number;
}

function greedyFromEnd(
  layer: number,
  head: number,
  count: number,
  capacity: number,
  fixed: number,
): ShardPlanEntry[] | null {
  const shards: ShardPlanEntry[] = [];
  let end = count;
  let bytes = fixed + head;
  let start = count;
  while (start > 0) {
    if (bytes + layer <= capacity) {
      bytes += layer;
      start--;
      continue;
    }
    if (start === end) return null;
    shards.unshift({ layers: [start, end], bytes });
    end = start;
    bytes = fixed;
  }
  shards.unshift({ layers: [start, end], bytes });
  return shards;
}

/**
 * Splits the decoder's layers into the fewest shards whose weights each fit `maxShardBytes`, then evens them out
 * (the smallest budget that still gives that many shards), so no shard is a small leftover. The last shard carries
 * the final norm and lm_head; every shard has at least one layer. `fixedBytes` is what every shard graph holds
 * besides layer weights (RoPE tables, mask and shape constants: measure it on a layer-less graph).
 * @throws ConvertError('bad-argument') when one layer (or the last layer with lm_head) alone exceeds the budget.
 */
export function planShards(
  config: LlavaHfConfig,
  dtype: ConvertDtype,
  maxShardBytes: number,
  fixedBytes = 0,
): ShardPlanEntry[] {
  const layer = decoderLayerBytes(config, dtype);
  const head = decoderHeadBytes(config, dtype);
  const count = config.text_config.num_hidden_layers;
  const fewest = greedyFromEnd(layer, head, count, maxShardBytes, fixedBytes);
  if (fewest === null || count === 0) {
    const need = fixedBytes + layer + head;
    throw new ConvertError(
      'bad-argument',
      `--shard-size ${maxShardBytes} is too small: one ${dtype} decoder layer takes ${layer} bytes and the last ` +
        `shard also holds the final norm and lm_head (${head} bytes) and each shard ${fixedBytes} bytes of tables. Use --shard-size ${need} or more.`,
      { details: { layerBytes: layer, headBytes: head } },
    );
  }
  let lo = fixedBytes + layer + head;
  let hi = maxShardBytes;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    const plan = greedyFromEnd(layer, head, count, mid, fixedBytes);
    if (plan !== null && plan.length <= fewest.length) hi = mid;
    else lo = mid + 1;
  }
  return greedyFromEnd(layer, head, count, lo, fixedBytes) ?? fewest;
}
