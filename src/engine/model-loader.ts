// Owns turning a ModelSource into a ready LoadedModel: configs, tokenizer and the three sessions, one at a time.
// It must not download (the source already holds the bytes), generate text or keep per-conversation state.

import { throwIfAborted } from '../shared/abort';
import { EngineError } from '../shared/errors';
import { COMPONENTS, onnxPath, type Component, type Dtype } from '../shared/model-layout';
import type { DtypeChoice, LoadProgressEvent } from '../shared/protocol';
import { Decoder } from './decoder';
import { parseModelConfig, type ModelConfig } from './model-config';
import type { ModelSource } from './model-source';
import type { BackendDescriptor, OrtRuntime, SessionOptions } from './runtime';
import { createDecoderAwareSession } from './decoder-shards';
import { dtypeCandidates, type LoadedSession } from './sessions';
import { createTokenizer, type TextTokenizer } from './tokenizer';
import { VisionEncoder } from './vision';

export interface LoadedModel {
  id: string;
  config: ModelConfig;
  tokenizer: TextTokenizer;
  vision: VisionEncoder;
  decoder: Decoder;
  /** The `<image>` placeholder string of the prompt. */
  imageToken: string;
  backend: BackendDescriptor;
  dtypes: Record<Component, Dtype>;
  /** Bytes of weights the sessions were built from. */
  bytes: number;
  release(): Promise<void>;
}

export interface LoadModelArgs {
  ort: OrtRuntime;
  source: ModelSource;
  backend: BackendDescriptor;
  dtype?: DtypeChoice;
  signal?: AbortSignal;
  onProgress?: (event: LoadProgressEvent) => void;
}

const decoder = new TextDecoder();

async function readJson(source: ModelSource, path: string, signal?: AbortSignal): Promise<unknown> {
  const bytes = await source.read(path, signal ? { signal } : {});
  try {
    return JSON.parse(decoder.decode(bytes)) as unknown;
  } catch (cause) {
    throw new EngineError('bad-model', `The model file ${path} is not valid JSON. Re-download the model.`, {
      cause,
    });
  }
}

async function readOptionalJson(source: ModelSource, path: string, signal?: AbortSignal): Promise<unknown> {
  return (await source.has(path)) ? readJson(source, path, signal) : undefined;
}

/** The chat template kept outside tokenizer_config.json (newer llava-hf repos keep it beside the processor). */
async function readChatTemplate(source: ModelSource, signal?: AbortSignal): Promise<string | null> {
  const json = (await readOptionalJson(source, 'chat_template.json', signal)) as
    { chat_template?: unknown } | undefined;
  if (typeof json?.chat_template === 'string') return json.chat_template;
  if (await source.has('chat_template.jinja')) {
    return decoder.decode(await source.read('chat_template.jinja', signal ? { signal } : {}));
  }
  return null;
}

/**
 * The prompt's image placeholder: processor_config's image_token, else "<image>", whichever the tokenizer encodes to
 * config.json's image token id.
 * @throws EngineError('bad-model') when neither does.
 */
export function findImageToken(config: ModelConfig, tokenizer: TextTokenizer): string {
  const candidates = [config.imageToken, '<image>'].filter((t): t is string => typeof t === 'string');
  for (const t of candidates) if (tokenizer.tokenToId(t) === config.imageTokenId) return t;
  throw new EngineError(
    'bad-model',
    `The tokenizer has no image token with id ${config.imageTokenId}. The model's files do not match each other.`,
  );
}

/**
 * Loads configs, tokenizer and sessions. Sessions are created one after another so only one file's bytes are held.
 * @throws EngineError('bad-model') for missing or unreadable files; AbortError when aborted.
 */
export async function loadModel(args: LoadModelArgs): Promise<LoadedModel> {
  const { ort, source, backend, signal, onProgress } = args;
  const config = parseModelConfig({
    config: await readJson(source, 'config.json', signal),
    generationConfig: await readOptionalJson(source, 'generation_config.json', signal),
    preprocessorConfig: await readOptionalJson(source, 'preprocessor_config.json', signal),
    processorConfig: await readOptionalJson(source, 'processor_config.json', signal),
  });
  const tokenizer = createTokenizer(
    await readJson(source, 'tokenizer.json', signal),
    (await readOptionalJson(source, 'tokenizer_config.json', signal)) ?? {},
    await readChatTemplate(source, signal),
  );
  if (config.eosTokenIds.length === 0 && tokenizer.eosTokenId !== null)
    config.eosTokenIds = [tokenizer.eosTokenId];
  const imageToken = findImageToken(config, tokenizer);
  const choice = args.dtype ?? config.preferredDtype;

  let total = 0;
  for (const c of COMPONENTS) {
    for (const d of dtypeCandidates(c, choice, backend)) {
      const size = await source.size?.(onnxPath(c, d));
      if (size != null) {
        total += size;
        break;
      }
    }
  }
  const sessions: LoadedSession[] = [];
  let loaded = 0;
  try {
    for (const component of COMPONENTS) {
      throwIfAborted(signal);
      const options: SessionOptions = {};
      if (component === 'decoder_model_merged' && backend.keepKvOnDevice) {
        const layers = config.text.numLayers;
        const loc: Record<string, 'gpu-buffer'> = {};
        for (let i = 0; i < layers; i++) {
          loc[`present.${i}.key`] = 'gpu-buffer';
          loc[`present.${i}.value`] = 'gpu-buffer';
        }
        options.preferredOutputLocation = loc;
      }
      // A converted model may split decoder_model_merged into shards; decoder-shards.ts chains them.
      const s = await createDecoderAwareSession({
        ort,
        source,
        backend,
        component,
        candidates: dtypeCandidates(component, choice, backend),
        externalData: config.externalDataChunks,
        options,
        ...(signal ? { signal } : {}),
      });
      sessions.push(s);
      loaded += s.bytes;
      onProgress?.({ kind: 'session', file: s.file, loaded, total: Math.max(total, loaded) });
    }
  } catch (error) {
    await Promise.all(sessions.map((s) => s.session.release().catch(() => undefined)));
    throw error;
  }
  const [visionS, embedS, decoderS] = sessions as [LoadedSession, LoadedSession, LoadedSession];
  let vision: VisionEncoder;
  let dec: Decoder;
  try {
    vision = new VisionEncoder(ort, visionS.session);
    dec = new Decoder(ort, embedS.session, decoderS.session, {
      numKeyValueHeads: config.text.numKeyValueHeads,
      headDim: config.text.headDim,
      hiddenSize: config.text.hiddenSize,
    });
  } catch (error) {
    await Promise.all(sessions.map((s) => s.session.release().catch(() => undefined)));
    throw error;
  }
  onProgress?.({ kind: 'ready', file: '', loaded, total: Math.max(total, loaded) });
  return {
    id: source.id,
    config,
    tokenizer,
    vision,
    decoder: dec,
    imageToken,
    backend,
    dtypes: {
      vision_encoder: visionS.dtype,
      embed_tokens: embedS.dtype,
      decoder_model_merged: decoderS.dtype,
    },
    bytes: loaded,
    release: async () => {
      await Promise.all([vision.release(), dec.release()]);
    },
  };
}
