// Owns the catalog of checkpoints the app converts inside the browser (no browser export exists for them): their
// hub repos and the sizes of their published files, each fact with its public source. Data only; the conversion is
// src/store/hub-conversion.ts, run by workers/convert.worker.ts.
import type { Fact } from './catalog';

export interface BrowserConversion {
  key: string;
  label: string;
  description: string;
  repo: string;
  /** Bytes of the safetensors checkpoint (what the conversion reads, tensor by tensor). */
  sourceBytes: Fact<number>;
  /** Bytes the converted model takes in storage (q4 decoder and vision, fp32 embed_tokens): computed. */
  outputBytes: number;
  /** GPU memory once loaded (weights + a 2,048-token KV cache + activations): computed, not measured. */
  gpuMemoryBytes: number;
}

/** A size read off the repository's public file listing. */
const listed = <T>(value: T, source: string): Fact<T> => ({ value, verified: true, source });

/**
 * Output sizes from the configs (src/modelgen/convert/shard-plan.ts byte counts): q4 is 0.64 bytes per weight,
 * embed_tokens stays float32 as in real `_q4` exports (it is a Gather, not a MatMul: quantising it saves storage
 * but costs accuracy on every token, and even 13B's 657 MB table fits one 1 GiB GPU buffer).
 * TinyLLaVA: 22 × 44.0 M decoder weights + 65.7 M lm_head at q4 (662 MB), 263 MB embed_tokens, CLIP-L 303 M at q4
 * (194 MB) → 1.12 GB; GPU: that + 92 MB of KV for 2,048 tokens + ~0.3 GB of activations.
 */
export const BROWSER_CONVERSIONS: readonly BrowserConversion[] = [
  {
    key: 'tiny-llava-v1-convert',
    label: 'TinyLLaVA 1.4B (CLIP + TinyLlama)',
    description:
      'bczhou/tiny-llava-v1-hf: CLIP ViT-L/14-336 vision tower + TinyLlama-1.1B-Chat decoder (22 layers, 2048 wide, ' +
      'LLaVA-1.5 projector). Converted here, in this browser, tensor by tensor from the hub.',
    repo: 'bczhou/tiny-llava-v1-hf',
    // Two fp32 files, 4.98 GB + 661 MB (config: torch_dtype float32; vision 1024×24 at 336 px, text 2048×22, 4 KV heads).
    sourceBytes: listed(
      5.64e9,
      'https://huggingface.co/bczhou/tiny-llava-v1-hf/tree/fedff3e800a359a8795b962343a6449de4d39f6d',
    ),
    outputBytes: 1.12e9,
    gpuMemoryBytes: 1.5e9,
  },
  {
    key: 'llava-1.5-7b-convert-browser',
    label: 'LLaVA-1.5 7B (CLIP + Vicuna)',
    description:
      'llava-hf/llava-1.5-7b-hf converted in this browser: q4 decoder in shards sized for this GPU. Needs WebGPU and ' +
      'about 9 GB of GPU memory.',
    repo: 'llava-hf/llava-1.5-7b-hf',
    sourceBytes: listed(14.1e9, 'https://huggingface.co/llava-hf/llava-1.5-7b-hf/tree/main'),
    outputBytes: 4.9e9,
    gpuMemoryBytes: 8.6e9,
  },
  {
    key: 'llava-1.5-13b-convert-browser',
    label: 'LLaVA-1.5 13B (CLIP + Vicuna)',
    description:
      'llava-hf/llava-1.5-13b-hf converted in this browser: q4 decoder in shards sized for this GPU. Needs WebGPU and ' +
      'about 14 GB of GPU memory.',
    repo: 'llava-hf/llava-1.5-13b-hf',
    sourceBytes: listed(26.7e9, 'https://huggingface.co/llava-hf/llava-1.5-13b-hf/tree/main'),
    outputBytes: 9.0e9,
    gpuMemoryBytes: 14.1e9,
  },
];

/**
 * Decoder shard budget for this GPU: three quarters of the adapter's largest buffer (a shard's biggest tensors must
 * each fit one), at most the 800 MB the converter defaults to and at least 200 MB.
 */
export function shardBytesFor(
  limits: { maxBufferSize?: number; maxStorageBufferBindingSize?: number } | null,
): number {
  const biggest = Math.min(limits?.maxBufferSize ?? 1 << 30, limits?.maxStorageBufferBindingSize ?? 1 << 30);
  return Math.max(200e6, Math.min(800e6, Math.floor(biggest * 0.75)));
}
