// Owns what a transformers.js-layout LLaVA folder holds, as bytes in memory: ONNX graphs in every requested
// precision, tokenizer and JSON configs, and the manifest's object. Runtime-agnostic (Node writes the files in
// model-folder.ts; the training page's worker stores them in the browser); it must not touch a file system.

import { COMPONENTS, type Component } from '../../shared/model-layout';
import { buildLlavaGraphs } from './build-all';
import {
  configJson,
  generationConfigJson,
  jsonBytes,
  preprocessorConfigJson,
  processorConfigJson,
  tokenizerConfigJson,
  type GenDtype,
} from './config-files';
import { presets, type PresetName } from './presets';
import { createRandomWeights } from './random-weights';
import { buildTokenizer, type BuiltTokenizer } from './tokenizer-builder';
import type { LlavaHfConfig, WeightMap } from './types';

/** Bump when the folder's layout or file contents change in a way the source fingerprint cannot see. */
export const GENERATOR_VERSION = 1;

export type ExternalDataMode = 'auto' | 'always' | 'never';

export interface ModelFolderOptions {
  /** A named preset (default 'tiny'), or a full config instead. */
  preset?: PresetName;
  config?: LlavaHfConfig;
  /** Seed of the random weights (default 0). Ignored when `weights` is given. */
  seed?: number;
  /** Reuse these weights instead of drawing random ones (the converter and the trainer pass theirs). */
  weights?: WeightMap;
  /** Precisions to write, each for all three components (default ['fp32']). */
  dtypes?: readonly GenDtype[];
  /**
   * Narrows `dtypes` per component (e.g. a large decoder in q4 only, beside an fp32 vision tower), so a big model
   * is not also written in precisions nobody loads. Components not named get every dtype of `dtypes`.
   */
  componentDtypes?: Partial<Record<Component, readonly GenDtype[]>>;
  externalData?: ExternalDataMode;
  /**
   * config.json's `transformers.js_config.dtype`: what transformers.js loads when not told. Default: 'fp32' when
   * written, else the first written dtype. A per-component map may mix precisions (e.g. fp32 vision, q4 decoder).
   */
  defaultDtype?: GenDtype | Partial<Record<Component, GenDtype>>;
  /**
   * Files written instead of the generated ones of the same path, or added (e.g. a converted checkpoint's own
   * tokenizer.json and tokenizer_config.json). Listed in the manifest like the rest.
   */
  files?: readonly GeneratedFile[];
  /** Free-form label stored in the manifest (e.g. where the weights came from). */
  source?: string;
}

export interface ManifestFile {
  path: string;
  size: number;
  sha256: string;
}

/** manifest.json: what was generated, from what, and every other file of the folder with its size and sha256. */
export interface Manifest {
  generator: { name: 'llava-browser-modelgen'; version: number; fingerprint: string };
  preset: string | null;
  seed: number | null;
  source: string | null;
  dtypes: GenDtype[];
  componentDtypes?: Partial<Record<Component, readonly GenDtype[]>>;
  defaultDtype: GenDtype | Partial<Record<Component, GenDtype>> | null;
  externalData: ExternalDataMode;
  files: ManifestFile[];
}

export interface GeneratedFile {
  path: string;
  bytes: Uint8Array;
}

const DTYPE_ORDER: readonly GenDtype[] = ['fp32', 'q8', 'q4'];

/** Normalises the requested precisions: known ones only, no repeats, fixed order (so stamps compare equal). */
export function normalizeDtypes(dtypes: readonly string[] | undefined): GenDtype[] {
  const list = dtypes && dtypes.length > 0 ? dtypes : ['fp32'];
  for (const d of list) {
    if (!(DTYPE_ORDER as readonly string[]).includes(d)) {
      throw new Error(`unknown dtype "${d}" (expected one of ${DTYPE_ORDER.join(', ')})`);
    }
  }
  return DTYPE_ORDER.filter((d) => list.includes(d));
}

function resolveConfig(options: ModelFolderOptions): LlavaHfConfig {
  if (options.config) return options.config;
  const name = options.preset ?? 'tiny';
  const preset = presets[name];
  if (!preset)
    throw new Error(`unknown preset "${name}" (expected one of ${Object.keys(presets).join(', ')})`);
  return preset;
}

/**
 * Generates every file of the folder, one at a time (so a large preset never holds all graphs in memory), in a
 * fixed order: ONNX files (with their external data), then tokenizer and JSON configs. No manifest: the writer
 * adds it. Same options (seed included) → byte-identical files.
 */
export function* generateModelFiles(
  options: ModelFolderOptions,
  resolved: { config: LlavaHfConfig; weights: WeightMap },
): Generator<GeneratedFile> {
  const { config, weights } = resolved;
  const dtypes = normalizeDtypes(options.dtypes);
  const defaultDtype = options.defaultDtype ?? (dtypes.includes('fp32') ? 'fp32' : dtypes[0]!);
  for (const d of typeof defaultDtype === 'string' ? [defaultDtype] : Object.values(defaultDtype)) {
    if (!dtypes.includes(d))
      throw new Error(`default dtype ${d} is not among the written dtypes (${dtypes.join(', ')})`);
  }
  const given = new Map((options.files ?? []).map((f) => [f.path, f.bytes]));
  const externalChunks: Record<string, number> = {};
  const serialize = { externalData: options.externalData ?? 'auto' };
  for (const dtype of dtypes) {
    const components = COMPONENTS.filter((c) => options.componentDtypes?.[c]?.includes(dtype) ?? true);
    for (const files of buildLlavaGraphs(config, weights, { dtypes: [dtype], components, serialize })) {
      const [onnx, ...data] = files;
      if (onnx && data.length > 0)
        externalChunks[onnx.path.slice(onnx.path.lastIndexOf('/') + 1)] = data.length;
      for (const f of files) if (!given.has(f.path)) yield f;
    }
  }
  let built: BuiltTokenizer | null = null;
  const tokenizer = (): BuiltTokenizer => (built ??= buildTokenizer(config));
  const side: Array<[string, () => unknown]> = [
    ['config.json', () => configJson(config, defaultDtype, externalChunks)],
    ['generation_config.json', () => generationConfigJson(config, tokenizer())],
    ['preprocessor_config.json', () => preprocessorConfigJson(config)],
    ['processor_config.json', () => processorConfigJson(config)],
    ['tokenizer.json', () => tokenizer().json],
    ['tokenizer_config.json', () => tokenizerConfigJson(config, tokenizer())],
  ];
  for (const [file, make] of side) {
    if (!given.has(file)) yield { path: file, bytes: jsonBytes(make()) };
  }
  for (const [file, bytes] of given) yield { path: file, bytes };
}

/** The config and weights a folder will be built from (random weights from the seed unless given). */
export function resolveModel(options: ModelFolderOptions): { config: LlavaHfConfig; weights: WeightMap } {
  const config = resolveConfig(options);
  const weights = options.weights ?? createRandomWeights(config, options.seed ?? 0);
  return { config, weights };
}

/**
 * The manifest fields that decide whether an existing folder can be reused. `fingerprint` names the generator's
 * sources (Node computes it from them; a browser, which cannot read them, says where it built the folder).
 */
export function folderStamp(options: ModelFolderOptions, fingerprint: string): Omit<Manifest, 'files'> {
  return {
    generator: { name: 'llava-browser-modelgen', version: GENERATOR_VERSION, fingerprint },
    preset: options.config ? null : (options.preset ?? 'tiny'),
    seed: options.weights ? null : (options.seed ?? 0),
    source: options.source ?? null,
    dtypes: normalizeDtypes(options.dtypes),
    ...(options.componentDtypes ? { componentDtypes: options.componentDtypes } : {}),
    defaultDtype: options.defaultDtype ?? null,
    externalData: options.externalData ?? 'auto',
  };
}

/** manifest.json's object: the stamp, then every file sorted by path (so the bytes never depend on write order). */
export function folderManifest(stamp: Omit<Manifest, 'files'>, files: readonly ManifestFile[]): Manifest {
  const sorted = [...files].sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0));
  return { ...stamp, files: sorted };
}
