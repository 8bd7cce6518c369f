// Owns the GPU pack's model shapes and writing them on the machine that runs the pack: the generator's `bench`
// preset, LLaVA-1.5-7B's decoder layer shapes at a few depths, CLIP ViT-L/14-336 + mlp2x_gelu, and the much smaller
// `--quick` shapes. Random weights from the project's generator; nothing is downloaded. Node-only.

import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  generateModelFiles,
  resolveModel,
  type ModelFolderOptions,
} from '../../../src/modelgen/llava/folder-files';
import { getPreset } from '../../../src/modelgen/llava/presets';
import type { LlavaHfConfig, WeightMap } from '../../../src/modelgen/llava/types';
import type { GenDtype } from '../../../src/modelgen/llava/config-files';
import type { Component } from '../../../src/shared/protocol';

/** The precision each component is loaded in: the q4 decoder a 7B model needs on a GPU, fp32 around it. */
export const PACK_DTYPES: Record<Component, GenDtype> = {
  vision_encoder: 'fp32',
  embed_tokens: 'fp32',
  decoder_model_merged: 'q4',
};

/** LLaVA-1.5-7B's layer shapes (Vicuna-7B: LLaMA 4096 wide, 32 heads, MLP 11008) and its 32 layers. */
export const LLAVA7B_LAYERS = 32;

export interface PackModelSpec {
  /** Column label in the table. */
  label: string;
  /** Folder name under the work directory. */
  name: string;
  config: LlavaHfConfig;
  /** Decoder layers, for the per-layer fit (null: not part of a depth series). */
  layers: number | null;
}

/** LLaVA-1.5-7B's shapes, or (quick) the same structure far narrower, at `layers` decoder layers. */
function llavaShape(quick: boolean, layers: number): LlavaHfConfig {
  const base = getPreset('bench');
  return {
    ...base,
    vision_config: {
      ...base.vision_config,
      ...(quick
        ? { hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 2 }
        : { hidden_size: 1024, intermediate_size: 4096, num_hidden_layers: 24, num_attention_heads: 16 }),
      // 336 px / 14 px patches: LLaVA-1.5's 576 image tokens, in both shapes.
      image_size: 336,
      patch_size: 14,
    },
    text_config: {
      ...base.text_config,
      // Quick MLP width 768: whole q4 blocks. onnxruntime-web's WebGPU MatMulNBits failed on 688 ("cannot convert
      // shape") where its WASM kernel ran.
      ...(quick
        ? { hidden_size: 256, intermediate_size: 768, num_attention_heads: 4, num_key_value_heads: 4 }
        : { hidden_size: 4096, intermediate_size: 11008, num_attention_heads: 32, num_key_value_heads: 32 }),
      num_hidden_layers: layers,
      max_position_embeddings: 4096,
    },
  };
}

/** The models one run measures: the bench preset (unless quick) and the LLaVA-shaped decoder at each depth. */
export function packModels(quick: boolean, depths: readonly number[]): PackModelSpec[] {
  const shape = quick ? 'quick shapes (not LLaVA-sized)' : 'LLaVA-1.5-7B shapes';
  const series = depths.map((layers) => ({
    label: `${shape}, ${layers} layer${layers === 1 ? '' : 's'}`,
    name: `${quick ? 'quick' : 'llava7b'}-${layers}l`,
    config: llavaShape(quick, layers),
    layers,
  }));
  if (quick) return series;
  return [{ label: 'bench preset', name: 'bench', config: getPreset('bench'), layers: null }, ...series];
}

/**
 * Writes one model folder (no manifest: the generator's fingerprint reads its own sources, which a bundle lacks).
 * `weights` drawn for the deepest model serve the shallower ones too: each weight is seeded by its own name.
 */
export function writePackModel(
  root: string,
  spec: PackModelSpec,
  weights?: WeightMap,
): { dir: string; weights: WeightMap } {
  const dir = path.join(root, spec.name);
  const options: ModelFolderOptions = {
    config: spec.config,
    seed: 0,
    dtypes: ['fp32', 'q4'],
    componentDtypes: {
      vision_encoder: [PACK_DTYPES.vision_encoder],
      embed_tokens: [PACK_DTYPES.embed_tokens],
      decoder_model_merged: [PACK_DTYPES.decoder_model_merged],
    },
    defaultDtype: PACK_DTYPES,
    ...(weights ? { weights } : {}),
  };
  const resolved = resolveModel(options);
  for (const file of generateModelFiles(options, resolved)) {
    const target = path.join(dir, file.path);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, file.bytes);
  }
  return { dir, weights: resolved.weights };
}

/** The deepest config of a series: its random weights are drawn once and cover every depth. */
export function deepest(specs: readonly PackModelSpec[]): PackModelSpec | null {
  return specs.reduce<PackModelSpec | null>(
    (best, s) => (s.layers !== null && (best === null || s.layers > (best.layers ?? 0)) ? s : best),
    null,
  );
}
