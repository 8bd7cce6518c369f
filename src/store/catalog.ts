// Owns the list of models the app offers, as data: where each lives, its files, sizes, recommended precisions and
// the GPU memory it needs. Each fact says whether it was checked against a public source. No logic beyond sums and
// placing the app's own demo model under the app's base URL.
/// <reference types="vite/client" />
import type { Component, Dtype, ModelRef } from '../shared/protocol';
import { formatBytes } from '../shared/format-bytes';
import { COMPONENTS, onnxPath } from '../shared/model-layout';

/** A fact with its provenance: `verified` means it was read from the source named (a hub page at that commit). */
export interface Fact<T> {
  value: T;
  verified: boolean;
  source?: string;
}

export interface CatalogFile {
  path: string;
  /** Bytes; hub pages show rounded sizes (e.g. "801 MB" = 801e6), so real sizes differ by up to 0.5 MB. The exact
   * size and sha256 come from the hub's tree API when the model is downloaded. */
  bytes: Fact<number>;
  sha256?: Fact<string>;
}

export interface CatalogEntry {
  /** Stable key for the UI. */
  key: string;
  label: string;
  description: string;
  ref: ModelRef;
  /** config.json model_type (the engine dispatches on the config itself; this is for display and filtering). */
  architecture: Fact<string>;
  /** Precisions to download on an adapter with `shader-f16`. */
  recommendedDtype: Fact<Record<Component, Dtype>>;
  /** Precisions for adapters without `shader-f16` and for WASM. */
  fallbackDtype: Fact<Record<Component, Dtype>>;
  /** Support files and the graphs of both dtype choices (other precisions exist on the hub; the tree API lists them). */
  files: CatalogFile[];
  /** GPU memory for the recommended dtypes: weights + KV cache (4k tokens) + activations. Estimates, not measured. */
  gpuMemoryBytes: Fact<number>;
  /** True for generated models with seeded random weights: they exercise the pipeline and say nothing sensible. */
  randomWeights: boolean;
  /** For a model with no browser export on the hub: how to convert it yourself, then import the folder. */
  convert?: ConvertRecipe;
  /**
   * Whether the engine was run on a replica built from this model's published files (config, tokenizer and
   * processor files, special token ids, chat template): the test file that does it, or null where none does.
   */
  checkedAgainstPublishedFiles: string | null;
}

/** Commands that turn a hub checkpoint into a folder the app imports (see src/modelgen/convert/README.md). */
export interface ConvertRecipe {
  /** Hub repo holding the safetensors checkpoint, config and tokenizer.json. */
  sourceRepo: string;
  /** Shell commands, run in order in a checkout of this project (Node 20, npm install done). */
  commands: string[];
  /** The folder the last command writes; import it in the app (its name becomes the model id). */
  outputFolder: string;
  /** Bytes to download (the fp16 checkpoint). */
  downloadBytes: Fact<number>;
  /** Bytes of the converted folder (what the browser stores). */
  outputBytes: Fact<number>;
}

const MB = 1e6;

/** Vite's base of the built app; '/' where no bundler defined it (plain Node scripts). */
function appBase(): string {
  return (import.meta.env as { BASE_URL?: string } | undefined)?.BASE_URL ?? '/';
}

/**
 * The folder of a model the app serves itself (from public/models/), under the app's base: '/models/x/' at the
 * root, '/sub/models/x/' when built with `--base /sub/`. With a relative base ('./') the folder is resolved against
 * the page, since the worker that downloads it lives elsewhere (in assets/) and would resolve it wrongly.
 */
export function bundledModelUrl(name: string, base: string = appBase()): string {
  const path = `${base.endsWith('/') ? base : `${base}/`}models/${name}/`;
  if (path.startsWith('/')) return path;
  const page = (globalThis as { document?: { baseURI?: string } }).document?.baseURI;
  return page ? new URL(path, page).pathname : path;
}
const hubTree = (repo: string, commit: string): string => `https://huggingface.co/${repo}/tree/${commit}`;

/** A fact read from `source`, or an unverified one where there is none. */
function fact<T>(value: T, source: string | null): Fact<T> {
  return source ? { value, verified: true, source } : { value, verified: false };
}

function file(path: string, bytes: number, source: string | null, sha256?: Fact<string>): CatalogFile {
  const entry: CatalogFile = { path, bytes: fact(bytes, source) };
  if (sha256) entry.sha256 = sha256;
  return entry;
}

/** One precision per component, in COMPONENTS order. */
function dtypes(vision: Dtype, embed: Dtype, decoder: Dtype): Record<Component, Dtype> {
  return { vision_encoder: vision, embed_tokens: embed, decoder_model_merged: decoder };
}

/** A ready-made export on the hub: the facts that differ between such models; the rest is the same for all. */
interface HubModel {
  key: string;
  label: string;
  description: string;
  repo: string;
  architecture: string;
  /** Unverified precision choices (see CatalogEntry). */
  recommended: Record<Component, Dtype>;
  fallback: Record<Component, Dtype>;
  /** Support files, path → bytes, as read on the repo's main tree; `unverified` names those not read there. */
  support: Record<string, number>;
  unverified?: readonly string[];
  graphs: CatalogFile[];
  gpuMemoryBytes: number;
  /** The replica test run on this model's published files (see CatalogEntry). */
  replicaTest: string;
}

function hubEntry(m: HubModel): CatalogEntry {
  const main = hubTree(m.repo, 'main');
  return {
    key: m.key,
    label: m.label,
    description: m.description,
    ref: { kind: 'hub', repo: m.repo, revision: 'main' },
    architecture: fact(m.architecture, main),
    recommendedDtype: fact(m.recommended, null),
    fallbackDtype: fact(m.fallback, null),
    files: [
      // In the hub's (code-point) order, whatever order the table was written in.
      ...Object.entries(m.support)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([path, bytes]) => file(path, bytes, m.unverified?.includes(path) ? null : main)),
      ...m.graphs,
    ],
    gpuMemoryBytes: fact(m.gpuMemoryBytes, null),
    randomWeights: false,
    checkedAgainstPublishedFiles: m.replicaTest,
  };
}

/** Files every llava-hf / Xenova Qwen export shares, with the same sizes. */
const QWEN_TOKENIZER = { 'merges.txt': 1.67 * MB, 'tokenizer.json': 7.03 * MB, 'vocab.json': 2.78 * MB };

const INTERLEAVE_ONNX = `${hubTree('llava-hf/llava-interleave-qwen-0.5b-hf', '08647831752d66cc51831ff4f2a476de6ba2af9c')}/onnx`;
const ONEVISION_ONNX = `${hubTree('llava-hf/llava-onevision-qwen2-0.5b-ov-hf', 'bcef42bc8d54271d2d66b3e92876c3c9b990ad33')}/onnx`;
const NANO_ONNX = `${hubTree('Xenova/nanoLLaVA', 'main')}/onnx`;
const GENERATED = 'src/modelgen';

/** The id of the app's built-in model: the micro LLaVA trained by `npm run train:micro`. */
export const BUILT_IN_MODEL_ID = 'micro-llava';

/** The local id the training page stores each micro model it aligns under: this prefix and a time stamp. */
export const ALIGNED_MICRO_ID_PREFIX = 'micro-llava-aligned-';

/** True for the models that know the sample scenes: the built-in micro LLaVA and those aligned on the training page. */
export function isMicroModelId(modelId: string | null): boolean {
  return modelId === BUILT_IN_MODEL_ID || (modelId?.startsWith(`local:${ALIGNED_MICRO_ID_PREFIX}`) ?? false);
}

export const CATALOG: readonly CatalogEntry[] = [
  {
    key: BUILT_IN_MODEL_ID,
    label: 'Micro LLaVA (trained here on coloured shapes)',
    description:
      'Knows coloured circles, squares and triangles on a grey background: their colours, shapes, positions and ' +
      'number, and short descriptions. Knows nothing of photos, text or code. Trained in this project ' +
      '(npm run train:micro), served by the app itself: no download, works offline.',
    ref: { kind: 'url', baseUrl: bundledModelUrl(BUILT_IN_MODEL_ID), id: BUILT_IN_MODEL_ID },
    architecture: fact('llava', 'src/training (trained here)'),
    recommendedDtype: fact(dtypes('fp32', 'fp32', 'fp32'), 'src/training'),
    fallbackDtype: fact(dtypes('fp32', 'fp32', 'fp32'), 'src/training'),
    // Sizes come from the manifest.json the export writes beside the files (about 1 MB in all).
    files: [],
    gpuMemoryBytes: fact(16 * 1024 * 1024, null),
    randomWeights: false,
    // Trained here: its meaning is tested through the engine (test/unit/micro-meaning.test.ts) and in the app.
    checkedAgainstPublishedFiles: null,
  },
  {
    key: 'tiny-llava-random',
    label: 'Tiny LLaVA (random weights, for checking the pipeline offline)',
    description:
      'A tiny LLaVA generated by this project (2 text layers, 3 vision layers, 32 px images) with seeded random weights, ' +
      'served by the app itself. It answers gibberish; use it to check that downloading, storage and inference work.',
    ref: { kind: 'url', baseUrl: bundledModelUrl('tiny-llava-random'), id: 'tiny-llava-random' },
    architecture: fact('llava', `${GENERATED} (generated here)`),
    recommendedDtype: fact(dtypes('fp32', 'fp32', 'fp32'), GENERATED),
    fallbackDtype: fact(dtypes('fp32', 'fp32', 'fp32'), GENERATED),
    // Sizes come from the manifest.json the generator writes; about 700 KB in all (docs/browser-limits.md).
    files: [],
    gpuMemoryBytes: fact(16 * 1024 * 1024, null),
    randomWeights: true,
    // Generated here: the engine is tested on it directly, token for token (test/unit/parity-transformers.test.ts).
    checkedAgainstPublishedFiles: null,
  },
  hubEntry({
    key: 'llava-interleave-qwen-0.5b',
    label: 'LLaVA-Interleave Qwen 0.5B',
    description:
      'llava-hf export of LLaVA-NeXT-Interleave: SigLIP vision tower (384 px, 729 image tokens) + Qwen1.5-0.5B. About 1.4 GB to download.',
    repo: 'llava-hf/llava-interleave-qwen-0.5b-hf',
    architecture: 'llava',
    recommended: dtypes('fp16', 'fp16', 'q4'),
    fallback: dtypes('q4', 'q8', 'q4'),
    support: {
      'added_tokens.json': 101,
      'chat_template.json': 699,
      'config.json': 1250,
      'generation_config.json': 126,
      'preprocessor_config.json': 393,
      'processor_config.json': 169,
      'special_tokens_map.json': 367,
      'tokenizer_config.json': 1510,
      ...QWEN_TOKENIZER,
    },
    graphs: [
      file(
        'onnx/vision_encoder_fp16.onnx',
        801 * MB,
        INTERLEAVE_ONNX,
        fact(
          '55306600bdf39741a4e8321d5191d4fe38b711fd9db58ee86eb28849ff797dec',
          'https://huggingface.co/llava-hf/llava-interleave-qwen-0.5b-hf/blob/187fe5ebba14c29a67f99fe56f3351b058af3e10/onnx/vision_encoder_fp16.onnx',
        ),
      ),
      file(
        'onnx/vision_encoder_q4.onnx',
        257 * MB,
        INTERLEAVE_ONNX,
        fact(
          'fd8a1ba9f31090bafbdaa7513f516876d43afd58e216b059c0190821ea970656',
          'https://huggingface.co/llava-hf/llava-interleave-qwen-0.5b-hf/blob/08647831752d66cc51831ff4f2a476de6ba2af9c/onnx/vision_encoder_q4.onnx',
        ),
      ),
      file('onnx/embed_tokens_fp16.onnx', 311 * MB, INTERLEAVE_ONNX),
      file('onnx/embed_tokens_quantized.onnx', 156 * MB, null),
      file('onnx/decoder_model_merged_q4.onnx', 308 * MB, INTERLEAVE_ONNX),
    ],
    gpuMemoryBytes: 1.8e9,
    replicaTest: 'test/unit/replica-interleave.test.ts',
  }),
  hubEntry({
    key: 'llava-onevision-qwen2-0.5b-ov',
    label: 'LLaVA-OneVision Qwen2 0.5B',
    description:
      'llava-hf export of LLaVA-OneVision (SigLIP + Qwen2-0.5B). Pictures are seen as a single 384 px view ' +
      '(729 image tokens), as transformers.js feeds it; the Python model adds tiles of the picture on top, which this ' +
      'export cannot. About 1.4 GB to download.',
    repo: 'llava-hf/llava-onevision-qwen2-0.5b-ov-hf',
    architecture: 'llava_onevision',
    recommended: dtypes('fp16', 'fp16', 'q4'),
    fallback: dtypes('q8', 'q8', 'q4'),
    support: {
      'added_tokens.json': 122,
      'chat_template.json': 826,
      'config.json': 2590,
      'generation_config.json': 126,
      'preprocessor_config.json': 1730,
      'processor_config.json': 178,
      'special_tokens_map.json': 367,
      'tokenizer_config.json': 1520,
      ...QWEN_TOKENIZER,
    },
    unverified: ['tokenizer_config.json'],
    graphs: [
      file(
        'onnx/vision_encoder_fp16.onnx',
        800 * MB,
        ONEVISION_ONNX,
        fact(
          '31b66d6b44dd56c7d3a94b6a0414eebb85daa5d07c64c9a149968e1d5b880f66',
          'https://huggingface.co/llava-hf/llava-onevision-qwen2-0.5b-ov-hf/blob/2c9ba3bdda7dd7bc8de92c66da6f448561ddf7c9/onnx/vision_encoder_fp16.onnx',
        ),
      ),
      file('onnx/vision_encoder_quantized.onnx', 404 * MB, null),
      file('onnx/embed_tokens_fp16.onnx', 272 * MB, ONEVISION_ONNX),
      file('onnx/embed_tokens_quantized.onnx', 136 * MB, null),
      file('onnx/decoder_model_merged_q4.onnx', 327 * MB, ONEVISION_ONNX),
    ],
    gpuMemoryBytes: 1.9e9,
    replicaTest: 'test/unit/replica-onevision.test.ts',
  }),
  hubEntry({
    key: 'nanollava',
    label: 'nanoLLaVA (Qwen1.5 0.5B + SigLIP)',
    description:
      "Xenova's transformers.js export of qnguyen3/nanoLLaVA: SigLIP-so400m vision tower + Qwen1.5-0.5B. Pictures are " +
      'padded to a square first, as it was trained. About 1.4 GB to download.',
    repo: 'Xenova/nanoLLaVA',
    architecture: 'llava',
    recommended: dtypes('fp16', 'fp16', 'q4'),
    fallback: dtypes('q4', 'q8', 'q4'),
    support: {
      'added_tokens.json': 99,
      'config.json': 2350,
      'generation_config.json': 172,
      'preprocessor_config.json': 367,
      'special_tokens_map.json': 510,
      'tokenizer_config.json': 1490,
      ...QWEN_TOKENIZER,
    },
    // The sha256 values were read at commit 4ec4246 (first upload); later commits may have replaced the files.
    graphs: [
      file(
        'onnx/vision_encoder_fp16.onnx',
        801 * MB,
        'https://huggingface.co/Xenova/nanoLLaVA/blob/refs%2Fpr%2F2/onnx/vision_encoder_fp16.onnx',
        fact('447eee3d7ab2d6e741db4eda9ade77d3ba28aae761590f6e12bac73ee60bfbcb', null),
      ),
      file(
        'onnx/vision_encoder_q4.onnx',
        257 * MB,
        'https://huggingface.co/Xenova/nanoLLaVA/blob/8d4aae1e9b821050e14c4aea9d925240e1bdf0de/onnx/vision_encoder_q4.onnx',
        fact('eca15489472139da3fd05d478962776f007a03b855f569f4201c17ac9301a428', null),
      ),
      file('onnx/embed_tokens_fp16.onnx', 311 * MB, NANO_ONNX),
      file(
        'onnx/embed_tokens_quantized.onnx',
        156 * MB,
        'https://huggingface.co/Xenova/nanoLLaVA/tree/01f6aae906fdfca2dc87c3fc3c5536da4b8e96bf/onnx',
      ),
      file('onnx/decoder_model_merged_q4.onnx', 308 * MB, NANO_ONNX),
    ],
    gpuMemoryBytes: 1.8e9,
    replicaTest: 'test/unit/replica-nanollava.test.ts',
  }),
];

const DEFAULT_VICUNA_DTYPES = dtypes('fp16', 'fp32', 'q4');

/**
 * A Vicuna-based LLaVA-1.5 that the app cannot download ready-made: no browser export exists and a 7B decoder needs
 * sharding (docs/browser-limits.md, "Large models"). Sizes and memory are computed from the llava-hf config (src/modelgen/convert/shard-plan.ts):
 * q4 decoder (MatMulNBits, fp32 scales: 0.64 bytes/weight), fp32 embed_tokens, CLIP-L vision stored fp16 and widened
 * to fp32 on the GPU, plus an fp32 KV cache for one 2,048-token conversation (576 image tokens + text) and ~0.3 GB
 * of activations. Estimates, not measured on a GPU. Only the WebGPU backend can hold them (WASM stops at 4 GB).
 */
function vicunaRecipe(
  size: '7b' | '13b',
  facts: { download: number; output: number; gpu: number },
): CatalogEntry {
  const repo = `llava-hf/llava-1.5-${size}-hf`;
  const out = `llava-1.5-${size}-q4`;
  return {
    key: `llava-1.5-${size}-convert`,
    label: `LLaVA-1.5 ${size.toUpperCase()} (Vicuna) — convert it yourself`,
    description:
      `The original LLaVA-1.5 ${size.toUpperCase()} (CLIP ViT-L/14-336 + Vicuna-${size.toUpperCase()} v1.5). No browser export exists: ` +
      `download the checkpoint and convert it on your computer (about ${formatBytes(facts.download)} download), then ` +
      `import the ${formatBytes(facts.output)} folder here. Needs WebGPU and a GPU with about ` +
      `${formatBytes(facts.gpu)} of memory.`,
    ref: { kind: 'local', id: out },
    architecture: fact('llava', null),
    recommendedDtype: fact(DEFAULT_VICUNA_DTYPES, null),
    // The converted folder has one precision per component; on an adapter without shader-f16, convert with
    // --vision-quant q4 (or fp32) instead.
    fallbackDtype: fact(dtypes('q4', 'fp32', 'q4'), null),
    files: [],
    gpuMemoryBytes: fact(facts.gpu, null),
    randomWeights: false,
    // The converter's output for llava-hf's 7B files is replicated by test/unit/replica-llava15.test.ts; the 13B
    // differs only in sizes.
    checkedAgainstPublishedFiles: 'test/unit/replica-llava15.test.ts',
    convert: {
      sourceRepo: repo,
      commands: [
        `huggingface-cli download ${repo} --include "*.safetensors" "*.json" --local-dir llava-1.5-${size}-hf`,
        `npm run convert -- --input llava-1.5-${size}-hf --output ${out} --quant q4 --vision-quant fp16 --shard-size 800MB`,
      ],
      outputFolder: out,
      downloadBytes: fact(facts.download, null),
      outputBytes: fact(facts.output, null),
    },
  };
}

/**
 * Models offered as conversion recipes rather than downloads (kept out of CATALOG: there is nothing to fetch; the
 * UI can show the commands and then import the folder). GPU memory: 7B = 4.26 GB decoder + 0.53 embed + 1.3
 * vision + 2.15 KV + 0.3; 13B = 8.29 + 0.66 + 1.34 + 3.36 + 0.4 (GB).
 */
export const CONVERT_RECIPES: readonly CatalogEntry[] = [
  vicunaRecipe('7b', { download: 14.1e9, output: 5.5e9, gpu: 8.6e9 }),
  vicunaRecipe('13b', { download: 26.7e9, output: 9.6e9, gpu: 14.1e9 }),
];

/** The catalog entry for a key, or undefined. */
export function catalogEntry(key: string): CatalogEntry | undefined {
  return CATALOG.find((e) => e.key === key);
}

/** Bytes to download for a dtype choice, from the catalog's file facts (support files + the graphs named). */
export function catalogDownloadBytes(entry: CatalogEntry, dtype: Record<Component, Dtype>): number | null {
  const graphs = COMPONENTS.map((c) => onnxPath(c, dtype[c]));
  if (entry.files.length === 0 || graphs.some((g) => !entry.files.some((f) => f.path === g))) return null;
  return entry.files
    .filter((f) => !f.path.startsWith('onnx/') || graphs.includes(f.path))
    .reduce((n, f) => n + f.bytes.value, 0);
}
