// Owns the names of a model folder in the transformers.js LLaVA layout (docs/model-layout.md): components, dtypes
// and their file suffixes, graph and external-data paths, decoder shard paths, and config.json's `llava_browser`
// block (its type, for the converter that writes it, and its one parser, for everyone who reads it). Pure strings and
// objects: no I/O, no onnxruntime, no DOM. Policy (which dtype to prefer, which files to fetch) lives elsewhere.
import { EngineError } from './errors';

/** Weight precisions in the transformers.js file-name convention. */
export type Dtype = 'fp32' | 'fp16' | 'q8' | 'q4' | 'q4f16';

/** The three ONNX components of a LLaVA model in the transformers.js layout. */
export type Component = 'vision_encoder' | 'embed_tokens' | 'decoder_model_merged';

/** The components, in the order they run. */
export const COMPONENTS: readonly Component[] = ['vision_encoder', 'embed_tokens', 'decoder_model_merged'];

export const DTYPES: readonly Dtype[] = ['fp32', 'fp16', 'q8', 'q4', 'q4f16'];

/** transformers.js file-name suffix of each dtype (q8 is `_quantized`). */
export const DTYPE_SUFFIX: Readonly<Record<Dtype, string>> = {
  fp32: '',
  fp16: '_fp16',
  q8: '_quantized',
  q4: '_q4',
  q4f16: '_q4f16',
};

export function isDtype(value: unknown): value is Dtype {
  return typeof value === 'string' && (DTYPES as readonly string[]).includes(value);
}

/** A component's graph in one dtype, relative to the model folder: `onnx/<component><suffix>.onnx`. */
export function onnxPath(component: Component, dtype: Dtype): string {
  return `onnx/${component}${DTYPE_SUFFIX[dtype]}.onnx`;
}

/** The `index`-th external data file of a graph: `x.onnx_data`, then `x.onnx_data_1`, `x.onnx_data_2`, … */
export function externalDataPath(onnxFile: string, index: number): string {
  return `${onnxFile}_data${index === 0 ? '' : `_${index}`}`;
}

/** The first `count` external data files of a graph, in the order they are written and read. */
export function externalDataPaths(onnxFile: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => externalDataPath(onnxFile, i));
}

/** True when `path` is an external data file of `onnxFile`. */
export function isExternalDataOf(path: string, onnxFile: string): boolean {
  if (!path.startsWith(`${onnxFile}_data`)) return false;
  const rest = path.slice(onnxFile.length + '_data'.length);
  return rest === '' || /^_\d+$/.test(rest);
}

/** Shard `k` (1-based) of a decoder split into `n`: `onnx/decoder_shard_{k}_of_{n}{suffix}.onnx`. */
export function decoderShardPath(k: number, n: number, dtype: Dtype): string {
  return `onnx/decoder_shard_${k}_of_${n}${DTYPE_SUFFIX[dtype]}.onnx`;
}

const SHARD_PATH = /^onnx\/decoder_shard_(\d+)_of_(\d+)(.*)\.onnx$/;

/** Reads a decoder shard path back: its k, n and dtype; null for any other path. */
export function parseDecoderShardPath(path: string): { k: number; n: number; dtype: Dtype } | null {
  const m = SHARD_PATH.exec(path);
  if (m === null) return null;
  const dtype = DTYPES.find((d) => DTYPE_SUFFIX[d] === m[3]);
  return dtype === undefined ? null : { k: Number(m[1]), n: Number(m[2]), dtype };
}

/** The newest version of the `llava_browser` block: the converter writes it, readers refuse a newer one. */
export const LLAVA_BROWSER_FORMAT = 1;

/** One decoder shard as config.json lists it (snake_case: it is config.json's own spelling). */
export interface DecoderShardInfo {
  /** The .onnx file, relative to the folder. */
  file: string;
  /** Global layers [start, end) it runs; its past/present names keep the global index. */
  layers: [number, number];
  /** External data files, relative to the folder, in order. */
  external_data: string[];
  /** Bytes of the shard's weights. */
  weight_bytes: number;
}

/**
 * config.json's `llava_browser` block: how the decoder is split. A single shard is the ordinary
 * `decoder_model_merged{suffix}.onnx` (loadable by transformers.js too); several shards run in sequence, the first
 * taking `inputs_embeds`, each later one the `hidden_states` the previous returned as `hidden_states_out`.
 */
export interface LlavaBrowserBlock {
  format: number;
  decoder_dtype: Dtype;
  decoder_shards: DecoderShardInfo[];
  converted_from: { naming: string; family: string; checkpoint_dtypes: string[] };
}

/** A decoder shard as readers use it. */
export interface DecoderShard {
  file: string;
  /** Global layers [start, end). */
  layers: [number, number];
  externalData: string[];
}

export interface DecoderShardList {
  dtype: Dtype;
  shards: DecoderShard[];
}

function badBlock(message: string): EngineError {
  return new EngineError('bad-model', `${message} Convert the model again with this app's converter.`);
}

/**
 * The decoder shards config.json's `llava_browser` block describes, or null for an ordinary model (no block, or a
 * single shard, which is the plain decoder_model_merged file).
 * @throws EngineError('bad-model') on a malformed block or one from a newer converter.
 */
export function parseDecoderShards(config: unknown): DecoderShardList | null {
  const block = (config as { llava_browser?: unknown } | null)?.llava_browser;
  if (typeof block !== 'object' || block === null) return null;
  const b = block as Record<string, unknown>;
  if (typeof b.format !== 'number' || b.format > LLAVA_BROWSER_FORMAT)
    throw badBlock(
      `config.json's llava_browser block has format ${String(b.format)}, newer than this app reads.`,
    );
  if (!Array.isArray(b.decoder_shards) || !isDtype(b.decoder_dtype))
    throw badBlock("config.json's llava_browser block lists no decoder shards.");
  if (b.decoder_shards.length <= 1) return null;
  let next = 0;
  const shards = b.decoder_shards.map((raw: unknown, k: number): DecoderShard => {
    const s = (raw ?? {}) as { file?: unknown; layers?: unknown; external_data?: unknown };
    const layers = s.layers;
    if (
      typeof s.file !== 'string' ||
      !Array.isArray(layers) ||
      layers[0] !== next ||
      typeof layers[1] !== 'number' ||
      layers[1] <= next ||
      (s.external_data !== undefined &&
        !(Array.isArray(s.external_data) && s.external_data.every((f) => typeof f === 'string')))
    ) {
      throw badBlock(`Decoder shard ${k + 1} in config.json is malformed or out of layer order.`);
    }
    next = layers[1];
    return {
      file: s.file,
      layers: [layers[0], layers[1]],
      externalData: (s.external_data as string[] | undefined) ?? [],
    };
  });
  return { dtype: b.decoder_dtype, shards };
}
