// Owns which files of a model folder a given dtype choice needs (transformers.js layout). Pure: no I/O, no storage.
import { EngineError } from '../shared/errors';
import {
  COMPONENTS,
  DTYPES,
  externalDataPaths,
  isDtype,
  isExternalDataOf,
  onnxPath,
  type Component,
  type Dtype,
} from '../shared/model-layout';
import type { DtypeChoice } from '../shared/protocol';
import { decoderShardFiles, decoderShardFilesFromConfig } from './decoder-shard-files';

/** One file a model folder offers, as a listing (hub tree API, manifest.json, a local folder) describes it. */
export interface RemoteFile {
  /** Relative to the model folder, e.g. 'onnx/decoder_model_merged_q4.onnx'. */
  path: string;
  /** Bytes, or null when nothing said (then the response decides). */
  size: number | null;
  /** Lower-case hex sha256 of the content (hub LFS oid, manifest). */
  sha256?: string;
  /** Git blob sha1 (hub `oid` of a small non-LFS file): sha1 of "blob {size}\0" + content. */
  gitSha1?: string;
  /** A 404 for this file is not an error (guessed listings only). */
  optional?: boolean;
}

/** When nothing says which dtype to take: small and runnable everywhere first, f16 ones last (need shader-f16). */
const FALLBACK_ORDER: readonly Dtype[] = ['q8', 'q4', 'fp32', 'fp16', 'q4f16'];

/** Support files the engine or transformers.js may read; anything else at the top level is left on the server. */
const SUPPORT_FILES = new Set([
  'config.json',
  'generation_config.json',
  'preprocessor_config.json',
  'processor_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'added_tokens.json',
  'chat_template.json',
  'chat_template.jinja',
  'vocab.json',
  'merges.txt',
  'tokenizer.model',
]);

/** Guessed support files for a server that offers no listing: only config.json is required. */
export const GUESSED_SUPPORT_FILES: readonly string[] = [...SUPPORT_FILES].filter(
  (f) => f !== 'tokenizer.model',
);

export function isSupportFile(path: string): boolean {
  return SUPPORT_FILES.has(path);
}

/**
 * The dtype of each component: an explicit choice wins, then the model's own `transformers.js_config.dtype`,
 * then the first dtype whose file exists (when the listing is known), then fp32.
 */
export function resolveDtypes(
  choice: DtypeChoice | undefined,
  configDefault: unknown,
  availablePaths?: ReadonlySet<string>,
): Record<Component, Dtype> {
  const pick = (source: unknown, component: Component): Dtype | undefined => {
    if (isDtype(source)) return source;
    if (typeof source === 'object' && source !== null) {
      const value = (source as Record<string, unknown>)[component];
      if (isDtype(value)) return value;
    }
    return undefined;
  };
  const out = {} as Record<Component, Dtype>;
  for (const component of COMPONENTS) {
    out[component] =
      pick(choice, component) ??
      pick(configDefault, component) ??
      (availablePaths ? FALLBACK_ORDER.find((d) => availablePaths.has(onnxPath(component, d))) : undefined) ??
      'fp32';
  }
  return out;
}

/**
 * The choices the store can make without config.json, best first: what resolveDtypes takes when the config names
 * nothing, then each dtype of the fallback order wherever the listing has it (an explicit `choice` always wins).
 */
export function choicesWithoutConfig(
  choice: DtypeChoice | undefined,
  availablePaths: ReadonlySet<string>,
): Record<Component, Dtype>[] {
  const out = new Map<string, Record<Component, Dtype>>();
  for (const first of [undefined, ...FALLBACK_ORDER]) {
    const preferred: Partial<Record<Component, Dtype>> = {};
    for (const component of COMPONENTS) {
      if (first && availablePaths.has(onnxPath(component, first))) preferred[component] = first;
    }
    const dtypes = resolveDtypes(choice, preferred, availablePaths);
    out.set(JSON.stringify(dtypes), dtypes);
  }
  return [...out.values()];
}

/** The `transformers.js_config` fields of config.json that the store needs. */
export function readTransformersJsConfig(config: unknown): { dtype?: unknown; externalData?: unknown } {
  if (typeof config !== 'object' || config === null) return {};
  const tjs = (config as Record<string, unknown>)['transformers.js_config'];
  if (typeof tjs !== 'object' || tjs === null) return {};
  const t = tjs as Record<string, unknown>;
  return { dtype: t['dtype'], externalData: t['use_external_data_format'] };
}

/** Chunk count from `use_external_data_format` (true → 1, n → n, or a per-file map), as transformers.js reads it. */
export function externalDataCount(setting: unknown, onnxFileName: string, component: Component): number {
  if (setting === undefined || setting === null || setting === false) return 0;
  if (typeof setting === 'object') {
    const map = setting as Record<string, unknown>;
    const value = map[onnxFileName] ?? map[component];
    return value === undefined ? 0 : Number(value) || 0;
  }
  return Number(setting) || 0;
}

/**
 * The files to fetch from a complete listing: the support files it has, and each component's graph in its dtype
 * with all of that graph's external data. Throws EngineError('bad-model') when a needed graph is not offered,
 * naming the dtypes that are.
 */
export function selectFiles(listing: readonly RemoteFile[], dtypes: Record<Component, Dtype>): RemoteFile[] {
  const byPath = new Map(listing.map((f) => [f.path, f]));
  if (!byPath.has('config.json')) {
    throw new EngineError(
      'bad-model',
      'This folder has no config.json, so it is not a model in the transformers.js layout. Pick another model.',
    );
  }
  const chosen: RemoteFile[] = listing.filter((f) => isSupportFile(f.path));
  for (const component of COMPONENTS) {
    const graph = onnxPath(component, dtypes[component]);
    const file = byPath.get(graph);
    // A converted model may split its decoder into shards (onnx/decoder_shard_{k}_of_{n}{suffix}.onnx).
    const shards =
      !file && component === 'decoder_model_merged' ? decoderShardFiles(listing, dtypes[component]) : null;
    if (shards) {
      chosen.push(...shards);
      continue;
    }
    if (!file) {
      const offered = DTYPES.filter((d) => byPath.has(onnxPath(component, d)));
      throw new EngineError(
        'bad-model',
        `This model has no ${graph}. ` +
          (offered.length > 0
            ? `Choose one of the precisions it offers for ${component}: ${offered.join(', ')}.`
            : `It has no ${component} graph at all.`),
        { details: { missing: graph, offered } },
      );
    }
    chosen.push(file);
    chosen.push(...listing.filter((f) => isExternalDataOf(f.path, graph)));
  }
  return chosen;
}

/**
 * A best guess for a server with no listing: config.json (required), the other support files (optional) and each
 * graph with the external data that config.json announces.
 */
export function guessFiles(config: unknown, dtypes: Record<Component, Dtype>): RemoteFile[] {
  const out: RemoteFile[] = GUESSED_SUPPORT_FILES.filter((p) => p !== 'config.json').map((path) => ({
    path,
    size: null,
    optional: true,
  }));
  const { externalData } = readTransformersJsConfig(config);
  for (const component of COMPONENTS) {
    const shards =
      component === 'decoder_model_merged' ? decoderShardFilesFromConfig(config, dtypes[component]) : null;
    if (shards) {
      for (const path of shards) out.push({ path, size: null });
      continue;
    }
    const graph = onnxPath(component, dtypes[component]);
    out.push({ path: graph, size: null });
    const name = graph.slice('onnx/'.length);
    for (const path of externalDataPaths(graph, externalDataCount(externalData, name, component)))
      out.push({ path, size: null });
  }
  return out;
}
