// Owns converting a LLaVA safetensors checkpoint into our browser layout: checks everything it can before writing
// (files, config, names, shapes, tokenizer, shard plan), lays out every graph from shapes, then streams the checkpoint
// once in file order, writing each tensor's outputs as it passes (data-pass.ts), and publishes the output only when
// complete. Runtime-agnostic: it reads SourceFolders and writes a
// FileSink (Node: convert.ts; the browser: the conversion worker). The graphs come from src/modelgen/llava.
import {
  decoderShardPath,
  LLAVA_BROWSER_FORMAT,
  onnxPath,
  type Component,
  type DecoderShardInfo,
} from '../../shared/model-layout';
import { throwIfAborted } from '../../shared/abort';
import { buildDecoder } from '../llava/decoder-graph';
import { buildEmbedTokens } from '../llava/embed-graph';
import type { GraphDtype } from '../llava/linear';
import type { LlavaHfConfig } from '../llava/types';
import { buildVisionEncoder } from '../llava/vision-graph';
import type { GraphBuilder, InitializerHook } from '../onnx/graph-builder';
import { browserConfigJson } from './browser-config';
import { planConversion, type ConversionPlan } from './conversion-plan';
import { Checkpoint } from './checkpoint';
import { CheckpointWeights } from './checkpoint-weights';
import { readText, type SourceFolder } from './byte-source';
import { ConvertError } from './errors';
import type { ConversionJournal, FileSink, ManifestEntry } from './file-sink';
import { detectNaming, ORIGINAL_EMBEDDED_VISION_PROBE, type CheckpointNaming } from './naming';
import { DataFiles, runDataPass, type HeaviestTensor, type OpenSourceHash } from './data-pass';
import { GraphStream } from './onnx-writer';
import { planShards, type ConvertDtype, type ShardPlanEntry } from './shard-plan';
import { planTokenizer, supportFiles } from './side-files';
import { readSourceConfig, type ConfigFamily } from './source-config';

export const CONVERTER_VERSION = 1;
/** Default decoder shard budget: 0.5–0.8 GB sessions measured best in browsers (docs/browser-limits.md). */
export const DEFAULT_SHARD_BYTES = 800_000_000;

/** What every front end chooses: precisions, shard and data-file sizes. */
export interface ConvertChoices {
  /** Decoder precision. */
  quant: ConvertDtype;
  /** Vision encoder + projector precision (default fp32). */
  visionQuant?: ConvertDtype;
  /** embed_tokens precision (default: q8 for a q8 decoder, fp16 for fp16, else fp32 as in real `_q4` exports). */
  embedQuant?: 'fp32' | 'fp16' | 'q8';
  /** Most bytes of weights per decoder shard (default {@link DEFAULT_SHARD_BYTES}). */
  shardSize?: number;
  /** Most bytes per external data file (default 1e9). */
  maxDataFileBytes?: number;
  signal?: AbortSignal;
  onProgress?: (event: ConvertProgress) => void;
}

export interface CoreConvertOptions extends ConvertChoices {
  /** The checkpoint (config.json + *.safetensors [+ model.safetensors.index.json] + tokenizer files). */
  input: SourceFolder;
  /** Separate CLIP checkpoint (original LLaVA naming). */
  clip?: SourceFolder;
  /** Where tokenizer files come from instead of `input`. */
  tokenizer?: SourceFolder;
  /** Refuses a plan (e.g. over the storage quota) by throwing: called after every check, before any tensor byte. */
  checkPlan?: (plan: ConversionPlan) => void | Promise<void>;
  /** Names the source for resuming (e.g. the hub revision and file hashes): a journal for another source is ignored. */
  resumeKey?: string;
  /**
   * Makes the output, called only once every check has passed (so a bad input leaves nothing behind). `resumeKey`
   * names this source and these choices: a resumable sink resumes only a journal with the same key.
   */
  createSink: (resumeKey: string) => FileSink | Promise<FileSink>;
  /** Where source files' sha256 is computed (default this thread). */
  hashSource?: OpenSourceHash;
  /** The row block a tensor used only row by row streams in (default ROW_BLOCK_BYTES, 0: none; the output is the same). */
  rowBlockBytes?: number;
}

export type ConvertProgress =
  | {
      kind: 'plan';
      naming: CheckpointNaming;
      family: ConfigFamily;
      shards: ShardPlanEntry[];
      checkpointBytes: number;
      /** What the conversion will download, store and need on the GPU, from the config and headers. */
      plan: ConversionPlan;
    }
  /**
   * An interrupted run's work is kept: `sourceBytes` of the plan's `downloadBytes` were already read through and
   * `storedBytes` of output already stored; this run goes on from there (emitted before the first tensor).
   */
  | { kind: 'resume'; sourceBytes: number; storedBytes: number }
  /** A graph is laid out (the structural pass, shapes only). */
  | { kind: 'file-start'; file: string }
  /** A checkpoint tensor's outputs are written: `done` of the `total` tensors the graphs read, in file order. */
  | { kind: 'tensor'; done: number; total: number; tensor: string }
  /** A graph's protobuf is written (after the data pass); counts are the run's so far. */
  | { kind: 'file-done'; file: string; weightBytes: number; tensorsRead: number; bytesRead: number }
  /** `heaviest`: what the data pass held at once at its heaviest (its memory bound, see `boundOf`). */
  | { kind: 'done'; dir: string; heaviest: HeaviestTensor };

export interface ConvertResult {
  /** Where the output is (the folder on disk, or the model id in the browser's store). */
  dir: string;
  config: LlavaHfConfig;
  naming: CheckpointNaming;
  family: ConfigFamily;
  shards: DecoderShardInfo[];
  files: ManifestEntry[];
  /** Tensors and float32 bytes read from the checkpoint. */
  tensorsRead: number;
  bytesRead: number;
}

/** Room for the few shape constants a shard's layers add beyond the layer-less graph (shared across layers). */
const SHARD_SLACK_BYTES = 4096;

const CONVERT_DTYPES: readonly ConvertDtype[] = ['fp32', 'fp16', 'q8', 'q4'];
const graphDtype = (d: ConvertDtype): GraphDtype => (d === 'fp16' ? 'fp32' : d);

function readConfigFile(dir: SourceFolder, what: string): unknown {
  if (!dir.has('config.json'))
    throw new ConvertError(
      'missing-file',
      `${dir.label} has no config.json. Pass the ${what} folder, with its config.json.`,
    );
  try {
    return JSON.parse(readText(dir, 'config.json'));
  } catch (cause) {
    throw new ConvertError('bad-config', `${dir.label}/config.json is not valid JSON. Download it again.`, {
      cause,
    });
  }
}

export function checkArguments(o: ConvertChoices): void {
  const quants: readonly string[] = CONVERT_DTYPES;
  if (!quants.includes(o.quant))
    throw new ConvertError('bad-argument', `--quant must be one of ${quants.join(', ')}, not "${o.quant}".`);
  if (o.visionQuant !== undefined && !quants.includes(o.visionQuant))
    throw new ConvertError(
      'bad-argument',
      `--vision-quant must be one of ${quants.join(', ')}, not "${o.visionQuant}".`,
    );
  if (o.embedQuant !== undefined && !['fp32', 'fp16', 'q8'].includes(o.embedQuant))
    throw new ConvertError('bad-argument', `--embed-quant must be fp32, fp16 or q8, not "${o.embedQuant}".`);
  for (const [flag, v] of [
    ['--shard-size', o.shardSize],
    ['--max-data-file', o.maxDataFileBytes],
  ] as const) {
    if (v !== undefined && !(Number.isSafeInteger(v) && v > 0))
      throw new ConvertError('bad-argument', `${flag} must be a positive number of bytes.`);
  }
}

/** A checkpoint file as the plan counts its bytes: whole when hashed, else only the tensors the graphs use. */
interface SourceSpan {
  id: string;
  hashed: boolean;
  size: number;
  used: ReadonlyArray<{ offset: number; byteLength: number }>;
}

/** The plan's download bytes an interrupted run read through, from its journal (as the data pass resumes it). */
function passedSourceBytes(journal: ConversionJournal, files: readonly SourceSpan[]): number {
  let passed = 0;
  for (const f of files) {
    const tensorBytes = (end: number): number =>
      f.used.reduce((n, e) => (e.offset + e.byteLength <= end ? n + e.byteLength : n), 0);
    if (journal.filesDone.includes(f.id)) passed += f.hashed ? f.size : tensorBytes(f.size);
    else if (journal.cursor?.file === f.id) {
      const { offset, hashState } = journal.cursor;
      // A hashed file without its hash state is read again from byte 0 (see the data pass).
      passed += f.hashed ? (hashState === null ? 0 : offset) : tensorBytes(offset);
    }
  }
  return passed;
}

/**
 * Converts a checkpoint. Every check that needs only headers and JSON runs before the sink exists, so a bad input
 * leaves nothing behind; a failure later abandons the sink. Abort is honoured between tensors.
 * @throws ConvertError (see its codes); DOMException 'AbortError' when aborted.
 */
export async function convertFromSources(o: CoreConvertOptions): Promise<ConvertResult> {
  checkArguments(o);
  throwIfAborted(o.signal);
  const opened: Checkpoint[] = [];
  let folder: FileSink | null = null;
  try {
    const main = Checkpoint.open(o.input);
    opened.push(main);
    const source = readSourceConfig(
      readConfigFile(o.input, 'checkpoint'),
      o.clip === undefined ? null : readConfigFile(o.clip, 'CLIP'),
    );
    const naming = detectNaming((n) => main.has(n), main.names());
    // The CLIP folder's weights matter only when the LLaVA checkpoint does not carry its own tower.
    const clipWeights =
      o.clip !== undefined && !(naming === 'original' && main.has(ORIGINAL_EMBEDDED_VISION_PROBE));
    const clipFolder = clipWeights ? (o.clip as SourceFolder) : null;
    const clip = clipFolder === null ? null : Checkpoint.open(clipFolder);
    if (clip) opened.push(clip);
    if ((source.family === 'original') !== (naming === 'original')) {
      throw new ConvertError(
        'unsupported-architecture',
        `config.json is a ${source.family} config but the tensors use ${naming} names. The config and the weights come from different exports.`,
      );
    }
    const config = source.config;
    const tokenizerDir = o.tokenizer ?? o.input;
    const tokens = planTokenizer(tokenizerDir, config, source.imageTokenFixed);
    config.image_token_index = tokens.imageTokenId;
    // Rows come from the checked config (weights.check compares the table's shape with it below).
    const tableRows = config.text_config.vocab_size;
    const padRows = tokens.maxTokenId >= tableRows ? tokens.maxTokenId + 1 : undefined;
    if (padRows !== undefined && config.text_config.tie_word_embeddings) {
      throw new ConvertError(
        'unsupported-architecture',
        `The tokenizer names ids up to ${tokens.maxTokenId} but embed_tokens has ${tableRows} rows, and the model ` +
          'ties lm_head to embed_tokens, so no rows can be added. Use the tokenizer of this very checkpoint.',
      );
    }
    const weights = new CheckpointWeights({
      main,
      clip,
      naming,
      projector: config.mm_projector_type ?? 'mlp2x_gelu',
      ...(padRows !== undefined ? { embedRows: padRows } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
    });
    weights.check(config);
    const quant = o.quant;
    const visionQuant = o.visionQuant ?? 'fp32';
    const embedQuant = o.embedQuant ?? (quant === 'q8' || quant === 'fp16' ? quant : 'fp32');
    // Every shard graph carries the same tables (RoPE caches, mask constants): measure them on a layer-less graph.
    const fixed = buildDecoder(config, new Map(), {
      layers: [0, 0],
      input: 'hidden_states',
      output: 'hidden_states',
    }).weightBytes();
    const plan = planShards(config, quant, o.shardSize ?? DEFAULT_SHARD_BYTES, fixed + SHARD_SLACK_BYTES);
    // Tensor bytes the plan counts, per checkpoint file, and which tensors they are.
    const counted = new Map<string, number>();
    const used = new Map<string, Set<string>>();
    const costs = planConversion(
      config,
      (name) => {
        const at = weights.locate(name);
        if (at === null || !at.checkpoint.has(at.source.name)) return null;
        const bytes = at.checkpoint.entry(at.source.name).byteLength;
        const file = `${at.checkpoint === main ? '' : 'clip/'}${at.checkpoint.fileOf(at.source.name)}`;
        counted.set(file, (counted.get(file) ?? 0) + bytes);
        used.set(file, (used.get(file) ?? new Set<string>()).add(at.source.name));
        return bytes;
      },
      { vision_encoder: visionQuant, embed_tokens: embedQuant, decoder: quant },
      plan,
    );
    // A file with a published sha256 is read whole (headers and unused tensors too), to check it.
    const readOrder: SourceSpan[] = [];
    for (const [ck, folder, prefix] of [
      [main, o.input, ''],
      [clip, clipFolder, 'clip/'],
    ] as const) {
      for (const { name, file } of ck?.fileList ?? []) {
        const id = `${prefix}${name}`;
        const entries = [...file.entries.values()];
        const hashed = (folder?.sha256?.(name) ?? null) !== null;
        const size = Math.max(...entries.map((e) => e.offset + e.byteLength), 0);
        const names = used.get(id) ?? new Set<string>();
        readOrder.push({ id, hashed, size, used: entries.filter((e) => names.has(e.name)) });
        if (hashed) costs.downloadBytes += size - (counted.get(id) ?? 0);
      }
    }
    o.onProgress?.({
      kind: 'plan',
      naming,
      family: source.family,
      shards: plan,
      checkpointBytes: main.bytes() + (clip?.bytes() ?? 0),
      plan: costs,
    });
    // The front end's last word before any tensor byte: e.g. the storage quota.
    await o.checkPlan?.(costs);
    throwIfAborted(o.signal);

    const key = JSON.stringify({
      converter: CONVERTER_VERSION,
      resumeKey: o.resumeKey ?? null,
      files: o.input.list(),
      bytes: main.bytes() + (clip?.bytes() ?? 0),
      choices: [quant, visionQuant, embedQuant, o.shardSize ?? null, o.maxDataFileBytes ?? null],
    });
    folder = await o.createSink(key);
    const out = folder;
    const resumed = out.resumed?.key === key ? out.resumed : null;
    const journal: ConversionJournal = {
      key,
      filesDone: resumed?.filesDone ?? [],
      cursor: resumed?.cursor ?? null,
      inline: resumed?.inline ?? {},
      closed: resumed?.closed ?? [],
    };
    if (resumed !== null)
      o.onProgress?.({
        kind: 'resume',
        sourceBytes: passedSourceBytes(journal, readOrder),
        storedBytes: out.files.reduce((n, f) => n + f.size, 0),
      });
    const dataFiles = new DataFiles(out, journal.closed);
    // The structural pass: every graph laid out from shapes alone; weight-derived bytes wait as fills.
    const built: Array<{ stream: GraphStream; graph: GraphBuilder; file: string }> = [];
    const layOut = (file: string, build: (hook: InitializerHook) => GraphBuilder, half: boolean): void => {
      throwIfAborted(o.signal);
      o.onProgress?.({ kind: 'file-start', file });
      const stream = new GraphStream(out, file, dataFiles, {
        ...(o.maxDataFileBytes === undefined ? {} : { maxDataFileBytes: o.maxDataFileBytes }),
        ...(half ? { half: (n: string) => weights.has(n) } : {}),
      });
      const graph = build(stream.hook);
      for (const d of stream.dataFiles()) dataFiles.setSize(d.relPath, d.size);
      built.push({ stream, graph, file });
    };
    layOut(
      onnxPath('vision_encoder', visionQuant),
      (onInitializer) =>
        buildVisionEncoder(config, weights, { dtype: graphDtype(visionQuant), onInitializer }),
      visionQuant === 'fp16',
    );
    layOut(
      onnxPath('embed_tokens', embedQuant),
      (onInitializer) => buildEmbedTokens(config, weights, { dtype: graphDtype(embedQuant), onInitializer }),
      embedQuant === 'fp16',
    );
    const n = plan.length;
    const shardFiles: string[] = [];
    for (const [k, entry] of plan.entries()) {
      const file = n === 1 ? onnxPath('decoder_model_merged', quant) : decoderShardPath(k + 1, n, quant);
      shardFiles.push(file);
      layOut(
        file,
        (onInitializer) =>
          buildDecoder(config, weights, {
            dtype: graphDtype(quant),
            onInitializer,
            layers: entry.layers,
            input: k === 0 ? 'inputs_embeds' : 'hidden_states',
            output: k === n - 1 ? 'logits' : 'hidden_states',
          }),
        quant === 'fp16',
      );
    }
    // The data pass: each checkpoint file read once, front to back.
    const heaviest = await runDataPass({
      weights,
      checkpoints: [
        { checkpoint: main, folder: o.input },
        ...(clip === null || clipFolder === null ? [] : [{ checkpoint: clip, folder: clipFolder }]),
      ],
      fills: built.flatMap((b) => b.stream.pending),
      files: dataFiles,
      journal,
      sink: out,
      signal: o.signal,
      openHash: o.hashSource,
      rowBlockBytes: o.rowBlockBytes,
      onTensor: (done, total, tensor) => o.onProgress?.({ kind: 'tensor', done, total, tensor }),
    });
    const chunks: Record<string, number> = {};
    const shards: DecoderShardInfo[] = [];
    for (const { stream, graph, file } of built) {
      const written = stream.finish(graph);
      const name = file.slice(file.lastIndexOf('/') + 1);
      if (written.data.length > 0) chunks[name] = written.data.length;
      const k = shardFiles.indexOf(file);
      const entry = plan[k];
      if (entry !== undefined)
        shards.push({
          file,
          layers: entry.layers,
          external_data: written.data,
          weight_bytes: written.weightBytes,
        });
      o.onProgress?.({
        kind: 'file-done',
        file,
        weightBytes: written.weightBytes,
        tensorsRead: weights.reads,
        bytesRead: weights.bytesRead,
      });
    }

    throwIfAborted(o.signal);
    for (const [name, bytes] of tokens.files) out.writeFile(name, bytes);
    const tokenizerFiles = new Set(tokens.files.keys());
    for (const [name, bytes] of supportFiles(
      { input: o.input, tokenizer: tokenizerDir, clip: o.clip ?? null },
      config,
      source.family,
      tokens.endOfTurnIds,
    )) {
      if (!tokenizerFiles.has(name)) out.writeFile(name, bytes);
    }
    const dtypes: Record<Component, ConvertDtype> = {
      vision_encoder: visionQuant,
      embed_tokens: embedQuant,
      decoder_model_merged: quant,
    };
    const checkpointDtypes = [...new Set(main.names().map((name) => main.entry(name).dtype))].sort();
    const browserConfig = browserConfigJson(config, source.carry, dtypes, chunks, {
      format: LLAVA_BROWSER_FORMAT,
      decoder_dtype: quant,
      decoder_shards: shards,
      converted_from: { naming, family: source.family, checkpoint_dtypes: checkpointDtypes },
    });
    out.writeFile('config.json', new TextEncoder().encode(`${JSON.stringify(browserConfig, null, 2)}\n`));
    await out.drain();
    const manifest = await out.finish({
      converter: { name: 'llava-browser-convert', version: CONVERTER_VERSION },
      source: { naming, family: source.family, checkpoint_dtypes: checkpointDtypes },
      dtypes,
      shardSize: o.shardSize ?? DEFAULT_SHARD_BYTES,
    });
    o.onProgress?.({ kind: 'done', dir: out.location, heaviest });
    return {
      dir: out.location,
      config,
      naming,
      family: source.family,
      shards,
      files: manifest.files,
      tensorsRead: weights.reads,
      bytesRead: weights.bytesRead,
    };
  } catch (error) {
    await folder?.abandon();
    throw error;
  } finally {
    for (const c of opened) c.close();
  }
}
