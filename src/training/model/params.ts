// Owns the micro model's parameters: their llava-hf names and shapes, seeded initialisation, and conversion between
// TF.js variables and the WeightMap the graph builder exports. No training logic here.

import * as tf from '@tensorflow/tfjs-core';
import type { F32Tensor, LlavaHfConfig, WeightMap } from '../../modelgen/llava/types';
import { Rng } from '../data/rng';
import { dimsOf } from './config';

export const VT = 'vision_tower.vision_model';
export const LM = 'language_model.model';

/** Which part of the model a parameter belongs to; stages freeze or train whole groups. */
export type ParamGroup = 'vision' | 'projector' | 'language' | 'head';

interface ParamSpec {
  name: string;
  dims: number[];
  group: ParamGroup;
  /** 'normal' draws N(0, std²); 'ones' / 'zeros' are constant. */
  init: 'normal' | 'ones' | 'zeros';
  std?: number;
}

/** Every parameter of the micro LLaVA (and of the stage-0 vision probe head) with its initialiser. */
export function paramSpecs(config: LlavaHfConfig, slotClasses: number, patchClasses = 13): ParamSpec[] {
  const d = dimsOf(config);
  const v = config.vision_config;
  const t = config.text_config;
  const specs: ParamSpec[] = [];
  const lin = (name: string, out: number, inp: number, group: ParamGroup, bias: boolean, residualOut = 0) => {
    const scale = residualOut > 0 ? 1 / Math.sqrt(2 * residualOut) : 1;
    specs.push({
      name: `${name}.weight`,
      dims: [out, inp],
      group,
      init: 'normal',
      std: scale / Math.sqrt(inp),
    });
    if (bias) specs.push({ name: `${name}.bias`, dims: [out], group, init: 'zeros' });
  };
  const norm = (name: string, dim: number, group: ParamGroup, bias: boolean) => {
    specs.push({ name: `${name}.weight`, dims: [dim], group, init: 'ones' });
    if (bias) specs.push({ name: `${name}.bias`, dims: [dim], group, init: 'zeros' });
  };
  const hv = d.vHidden;
  const p = d.patch;
  specs.push({
    name: `${VT}.embeddings.patch_embedding.weight`,
    dims: [hv, 3, p, p],
    group: 'vision',
    init: 'normal',
    std: 1 / Math.sqrt(3 * p * p),
  });
  specs.push({
    name: `${VT}.embeddings.class_embedding`,
    dims: [hv],
    group: 'vision',
    init: 'normal',
    std: 0.5,
  });
  specs.push({
    name: `${VT}.embeddings.position_embedding.weight`,
    dims: [d.grid * d.grid + 1, hv],
    group: 'vision',
    init: 'normal',
    std: 0.5,
  });
  norm(`${VT}.pre_layrnorm`, hv, 'vision', true);
  for (let i = 0; i < d.vLayers; i++) {
    const pre = `${VT}.encoder.layers.${i}`;
    for (const n of ['q_proj', 'k_proj', 'v_proj']) lin(`${pre}.self_attn.${n}`, hv, hv, 'vision', true);
    lin(`${pre}.self_attn.out_proj`, hv, hv, 'vision', true, d.vLayers);
    norm(`${pre}.layer_norm1`, hv, 'vision', true);
    lin(`${pre}.mlp.fc1`, v.intermediate_size, hv, 'vision', true);
    lin(`${pre}.mlp.fc2`, hv, v.intermediate_size, 'vision', true, d.vLayers);
    norm(`${pre}.layer_norm2`, hv, 'vision', true);
  }
  norm(`${VT}.post_layernorm`, hv, 'vision', true);
  lin('multi_modal_projector.linear_1', d.hidden, hv, 'projector', true);
  lin('multi_modal_projector.linear_2', d.hidden, d.hidden, 'projector', true);
  specs.push({
    name: `${LM}.embed_tokens.weight`,
    dims: [d.vocab, d.hidden],
    group: 'language',
    init: 'normal',
    std: 1,
  });
  const kvDim = d.kvHeads * d.headDim;
  for (let i = 0; i < d.layers; i++) {
    const pre = `${LM}.layers.${i}`;
    lin(`${pre}.self_attn.q_proj`, d.heads * d.headDim, d.hidden, 'language', false);
    lin(`${pre}.self_attn.k_proj`, kvDim, d.hidden, 'language', false);
    lin(`${pre}.self_attn.v_proj`, kvDim, d.hidden, 'language', false);
    lin(`${pre}.self_attn.o_proj`, d.hidden, d.heads * d.headDim, 'language', false, d.layers);
    norm(`${pre}.input_layernorm`, d.hidden, 'language', false);
    norm(`${pre}.post_attention_layernorm`, d.hidden, 'language', false);
    lin(`${pre}.mlp.gate_proj`, t.intermediate_size, d.hidden, 'language', false);
    lin(`${pre}.mlp.up_proj`, t.intermediate_size, d.hidden, 'language', false);
    lin(`${pre}.mlp.down_proj`, d.hidden, t.intermediate_size, 'language', false, d.layers);
  }
  norm(`${LM}.norm`, d.hidden, 'language', false);
  lin('language_model.lm_head', d.vocab, d.hidden, 'language', false);
  // Stage 0 only: linear probes from the selected patch features to per-column and per-patch classes.
  lin('vision_probe.head', slotClasses, d.grid * d.grid * hv, 'head', true);
  lin('vision_probe.dense', patchClasses, hv, 'head', true);
  return specs;
}

/** The trainable state: one TF.js variable per llava-hf name. */
export class Params {
  readonly vars = new Map<string, tf.Variable>();
  readonly groups = new Map<string, ParamGroup>();

  get(name: string): tf.Variable {
    const v = this.vars.get(name);
    if (!v) throw new Error(`missing parameter ${name}`);
    return v;
  }

  /** Names of the parameters in the given groups. */
  namesIn(groups: readonly ParamGroup[]): string[] {
    return [...this.groups.entries()].filter(([, g]) => groups.includes(g)).map(([n]) => n);
  }

  /** Re-keys gradients from TF.js variable names to llava-hf names (skipping parameters that got none). */
  byName(grads: Record<string, tf.Tensor>): Record<string, tf.Tensor> {
    const out: Record<string, tf.Tensor> = {};
    for (const [name, v] of this.vars) if (grads[v.name]) out[name] = grads[v.name]!;
    return out;
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
  }

  count(groups?: readonly ParamGroup[]): number {
    let n = 0;
    for (const [name, v] of this.vars) if (!groups || groups.includes(this.groups.get(name)!)) n += v.size;
    return n;
  }
}

// TF.js variable names are global: each Params gets its own prefix so that several models can coexist.
let instances = 0;

/** Fresh parameters, seeded. */
export function initParams(
  config: LlavaHfConfig,
  slotClasses: number,
  seed: number,
  patchClasses = 13,
): Params {
  const rng = new Rng(seed);
  const params = new Params();
  for (const spec of paramSpecs(config, slotClasses, patchClasses)) {
    const size = spec.dims.reduce((a, b) => a * b, 1);
    const data = new Float32Array(size);
    if (spec.init === 'ones') data.fill(1);
    else if (spec.init === 'normal')
      for (let i = 0; i < size; i++) data[i] = rng.normal() * (spec.std ?? 0.02);
    params.vars.set(spec.name, tf.variable(tf.tensor(data, spec.dims), true, `m${instances}/${spec.name}`));
    params.groups.set(spec.name, spec.group);
  }
  instances++;
  return params;
}

/** Copies values from a WeightMap into existing parameters (names and shapes must match). */
export function loadInto(params: Params, weights: WeightMap): void {
  for (const [name, t] of weights) {
    const v = params.vars.get(name);
    if (!v) continue;
    if (v.shape.join(',') !== t.dims.join(',')) throw new Error(`shape mismatch for ${name}`);
    v.assign(tf.tensor(t.data, t.dims));
  }
}

/** The parameters as a WeightMap (llava-hf names); the stage-0 probe head is left out unless asked for. */
export function toWeightMap(params: Params, includeHead = false): WeightMap {
  const out: WeightMap = new Map();
  for (const [name, v] of params.vars) {
    if (!includeHead && params.groups.get(name) === 'head') continue;
    const t: F32Tensor = { dims: v.shape.slice(), data: v.dataSync() as Float32Array };
    out.set(name, { dims: t.dims, data: Float32Array.from(t.data) });
  }
  return out;
}
