// Shared helpers for the convert-*.test.ts files: tiny checkpoints written with our safetensors writer in each naming
// (llava-hf, newer `model.language_model`, original LLaVA + separate CLIP folder) and an onnxruntime-node runner for
// a converted folder that chains its decoder shards. Test-only; independent of src/engine on purpose.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { bfloat16ToFloat32, float32ToBfloat16 } from '../../src/modelgen/convert/float-bits';
import { float32ToHalf, halfToFloat32 } from '../../src/shared/float16';
import { sourceName, type CheckpointNaming } from '../../src/modelgen/convert/naming';
import {
  writeTensorsSafetensors,
  type SafetensorsWriteDtype,
} from '../../src/modelgen/convert/safetensors-writer';
import {
  jsonBytes,
  preprocessorConfigJson,
  processorConfigJson,
  tokenizerConfigJson,
} from '../../src/modelgen/llava/config-files';
import { buildTokenizer } from '../../src/modelgen/llava/tokenizer-builder';
import type { F32Tensor, LlavaHfConfig, WeightMap } from '../../src/modelgen/llava/types';

export { ort };

const made: string[] = [];

/** A fresh folder under .cache/convert-tests (gitignored); {@link removeTempDirs} deletes this file's ones. */
export function tempDir(prefix: string): string {
  const root = path.resolve('.cache/convert-tests');
  mkdirSync(root, { recursive: true });
  const dir = mkdtempSync(path.join(root, `${prefix}-`));
  made.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** The weights as a checkpoint of `dtype` holds them (rounded to nearest even), for the reference. */
export function roundWeights(weights: WeightMap, dtype: SafetensorsWriteDtype): WeightMap {
  if (dtype === 'F32') return weights;
  const out: WeightMap = new Map();
  for (const [name, t] of weights) {
    const data =
      dtype === 'BF16' ? bfloat16ToFloat32(float32ToBfloat16(t.data)) : halfToFloat32(float32ToHalf(t.data));
    out.set(name, { dims: t.dims, data });
  }
  return out;
}

const writeJson = (file: string, value: unknown): void => writeFileSync(file, jsonBytes(value));

/** Splits named tensors over `shards` files with a model.safetensors.index.json (one file: model.safetensors). */
function writeShards(
  dir: string,
  tensors: Array<[string, F32Tensor]>,
  dtype: SafetensorsWriteDtype,
  shards: number,
): void {
  if (shards === 1) {
    writeTensorsSafetensors(path.join(dir, 'model.safetensors'), tensors, {
      dtype,
      metadata: { format: 'pt' },
    });
    return;
  }
  const per = Math.ceil(tensors.length / shards);
  const weightMap: Record<string, string> = {};
  for (let s = 0; s < shards; s++) {
    const file = `model-${String(s + 1).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.safetensors`;
    const part = tensors.slice(s * per, (s + 1) * per);
    writeTensorsSafetensors(path.join(dir, file), part, { dtype, metadata: { format: 'pt' } });
    for (const [name] of part) weightMap[name] = file;
  }
  writeJson(path.join(dir, 'model.safetensors.index.json'), {
    metadata: { total_size: 0 },
    weight_map: weightMap,
  });
}

export interface CheckpointOptions {
  dtype?: SafetensorsWriteDtype;
  shards?: number;
  /** Leave out text_config sizes that equal LlamaConfig defaults, as llava-hf's real 7B config.json does. */
  omitDefaults?: boolean;
}

/** The tokenizer files H2's builder writes for `config` (optionally without `<image>`, like Vicuna's). */
function writeTokenizer(dir: string, config: LlavaHfConfig, withImageToken = true): void {
  const tok = buildTokenizer(config);
  const json = structuredClone(tok.json);
  const tokConfig = tokenizerConfigJson(config, tok) as Record<string, unknown>;
  if (!withImageToken) {
    json.added_tokens = json.added_tokens.filter((t) => t.content !== '<image>');
    delete json.model.vocab['<image>'];
    const decoderMap = tokConfig.added_tokens_decoder as Record<string, unknown>;
    delete decoderMap[String(tok.ids.image)];
    delete tokConfig.chat_template;
  }
  writeJson(path.join(dir, 'tokenizer.json'), json);
  writeJson(path.join(dir, 'tokenizer_config.json'), tokConfig);
}

/** A llava-hf (or newer `model.language_model…`) checkpoint folder for `config` and `weights`. */
export function writeLlavaHfCheckpoint(
  dir: string,
  config: LlavaHfConfig,
  weights: WeightMap,
  naming: 'llava-hf' | 'llava-hf-v2',
  o: CheckpointOptions = {},
): void {
  mkdirSync(dir, { recursive: true });
  const tensors = [...weights].map(([name, t]): [string, F32Tensor] => [sourceName(name, naming).name, t]);
  writeShards(dir, tensors, o.dtype ?? 'F32', o.shards ?? 1);
  const json = structuredClone(config) as unknown as Record<string, unknown>;
  json.torch_dtype = o.dtype === 'BF16' ? 'bfloat16' : 'float32';
  if (o.omitDefaults === true) {
    // The real llava-1.5-7b-hf text_config omits every field equal to LlamaConfig's default; drop the ones that do.
    const t = json.text_config as Record<string, unknown>;
    if (t.num_key_value_heads === t.num_attention_heads) delete t.num_key_value_heads;
    for (const [k, v] of Object.entries({
      rope_theta: 10000,
      hidden_act: 'silu',
      tie_word_embeddings: false,
    }))
      if (t[k] === v) delete t[k];
    delete json.mm_projector_type;
  }
  writeJson(path.join(dir, 'config.json'), json);
  writeTokenizer(dir, config);
  writeJson(path.join(dir, 'preprocessor_config.json'), preprocessorConfigJson(config));
  writeJson(path.join(dir, 'processor_config.json'), processorConfigJson(config));
}

/**
 * An original-LLaVA checkpoint (`model.layers…`, `model.mm_projector.0/2`, LlavaLlamaForCausalLM config with mm_*
 * fields, Vicuna tokenizer without `<image>`) in `dir`, and its CLIP tower as a CLIPModel checkpoint in `clipDir`
 * (with a stray text-tower tensor the converter must ignore).
 */
export function writeOriginalCheckpoint(
  dir: string,
  clipDir: string,
  config: LlavaHfConfig,
  weights: WeightMap,
  o: CheckpointOptions & { embedVision?: boolean } = {},
): void {
  mkdirSync(dir, { recursive: true });
  mkdirSync(clipDir, { recursive: true });
  const naming: CheckpointNaming = 'original';
  const projector = config.mm_projector_type ?? 'mlp2x_gelu';
  const main: Array<[string, F32Tensor]> = [];
  const clip: Array<[string, F32Tensor]> = [];
  for (const [name, t] of weights) {
    const s = sourceName(name, naming, { projector, mainHasVision: o.embedVision === true });
    (s.where === 'main' ? main : clip).push([s.name, t]);
  }
  clip.push(['text_model.embeddings.token_embedding.weight', { dims: [4, 8], data: new Float32Array(32) }]);
  writeShards(dir, main, o.dtype ?? 'F32', o.shards ?? 1);
  // A tower carried inside the LLaVA checkpoint leaves the CLIP folder with its config only.
  if (o.embedVision !== true)
    writeTensorsSafetensors(path.join(clipDir, 'model.safetensors'), clip, { dtype: o.dtype ?? 'F32' });
  const t = config.text_config;
  writeJson(path.join(dir, 'config.json'), {
    _name_or_path: 'llava-v1.5-tiny',
    ...t,
    architectures: ['LlavaLlamaForCausalLM'],
    model_type: 'llava',
    image_aspect_ratio: 'pad',
    mm_hidden_size: config.vision_config.hidden_size,
    mm_projector_type: projector,
    mm_use_im_patch_token: false,
    mm_use_im_start_end: false,
    mm_vision_select_feature: config.vision_feature_select_strategy === 'default' ? 'patch' : 'cls_patch',
    mm_vision_select_layer: config.vision_feature_layer,
    mm_vision_tower: 'tiny/clip',
    torch_dtype: 'float16',
  });
  writeJson(path.join(clipDir, 'config.json'), {
    architectures: ['CLIPModel'],
    model_type: 'clip',
    projection_dim: 16,
    text_config: { hidden_size: 8 },
    vision_config: { ...config.vision_config, model_type: 'clip_vision_model' },
  });
  writeJson(path.join(clipDir, 'preprocessor_config.json'), preprocessorConfigJson(config));
  writeTokenizer(dir, config, false);
}

/** Every file under `dir` (recursively), keyed by its path relative to `dir` with '/' separators. */
export function folderFiles(dir: string, prefix = ''): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory())
      for (const [p, b] of folderFiles(full, `${prefix}${name}/`)) out.set(p, b);
    else out.set(`${prefix}${name}`, new Uint8Array(readFileSync(full)));
  }
  return out;
}
