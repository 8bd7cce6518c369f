// Owns loading the written data set for training: records, scene labels, the fitted tokenizer and config, token
// sequences per stage, and pixel values preprocessed by the engine's own image code. Node-only (reads files).

import path from 'node:path';
import { preprocessImage } from '../../engine/image-preprocess';
import { parseImagePreprocess, type ImagePreprocessConfig } from '../../engine/model-config';
import { preprocessorConfigJson } from '../../modelgen/llava/config-files';
import type { BuiltTokenizer } from '../../modelgen/llava/tokenizer-builder';
import type { LlavaHfConfig } from '../../modelgen/llava/types';
import { FILES, readImage, readJson, type SceneAnnotation } from '../data/dataset';
import type { LlavaRecord } from '../data/llava-format';
import { toRgba, type RgbImage } from '../data/render';
import type { PixelStore } from '../model/batches';
import { renderLlavaConversation } from '../../engine/prompt';
import {
  checkFastEncoder,
  configFor,
  engineTokenizer,
  fitTokenizer,
  SYSTEM_PROMPTS,
  tokenizerCorpus,
} from '../model/tokenizer';
import { conversationSequence, type SequenceContext, type TokenSequence } from '../model/sequences';

export interface LoadedData {
  root: string;
  tokenizer: BuiltTokenizer;
  config: LlavaHfConfig;
  ctx: SequenceContext;
  scenes: SceneAnnotation[];
  captions: LlavaRecord[];
  instruct: LlavaRecord[];
  text: LlavaRecord[];
  image: ImagePreprocessConfig;
}

/** Reads the data set and fits the tokenizer to all of its text. */
export function loadData(root: string): LoadedData {
  const captions = readJson<LlavaRecord[]>(path.join(root, FILES.pretrain));
  const instruct = readJson<LlavaRecord[]>(path.join(root, FILES.instruct));
  const text = readJson<LlavaRecord[]>(path.join(root, FILES.text));
  const scenes = readJson<SceneAnnotation[]>(path.join(root, FILES.scenes));
  const tokenizer = fitTokenizer(tokenizerCorpus([...captions, ...instruct, ...text]));
  const config = configFor(tokenizer);
  const ctx: SequenceContext = {
    tokenizer: engineTokenizer(tokenizer, config),
    imageTokenId: tokenizer.ids.image,
    eosTokenId: tokenizer.ids.eos,
    imageFeatures: Math.floor(config.vision_config.image_size / config.vision_config.patch_size) ** 2,
  };
  // The fast word-by-word encoder must agree with the engine's tokenizer on real prompts before training uses it.
  const sample = [...captions.slice(0, 50), ...instruct.slice(0, 150), ...text.slice(0, 100)];
  checkFastEncoder(
    ctx.tokenizer,
    sample.flatMap((r, i) => [
      renderLlavaConversation(
        r.conversations.map((t) => ({
          role: t.from === 'gpt' ? ('assistant' as const) : ('user' as const),
          content: t.value,
        })),
        SYSTEM_PROMPTS[i % SYSTEM_PROMPTS.length]!,
        '<image>',
      ).text,
      `<image>${r.conversations[1]?.value ?? ''}\n`,
    ]),
  );
  const image = parseImagePreprocess(preprocessorConfigJson(config), config, config.vision_config.image_size);
  return { root, tokenizer, config, ctx, scenes, captions, instruct, text, image };
}

/** Conversation sequences in the Vicuna v1 format with the given system prompt. */
export function conversationSequences(
  records: readonly LlavaRecord[],
  ctx: SequenceContext,
  system: string,
): TokenSequence[] {
  return records.map((r) => conversationSequence(r, system, ctx));
}

/** Normalised pixels with the engine's preprocessing (RGBA → RGB → resize/crop → rescale → normalise), cached. */
export function pixelStore(
  root: string,
  cfg: ImagePreprocessConfig,
  size: number,
  transform?: (img: RgbImage) => RgbImage,
): PixelStore {
  const cache = new Map<string, Float32Array>();
  return {
    size,
    get(rel: string): Float32Array {
      let px = cache.get(rel);
      if (!px) {
        let img = readImage(root, rel);
        if (transform) img = transform(img);
        const pv = preprocessImage({ width: img.width, height: img.height, data: toRgba(img) }, cfg);
        if (pv.width !== size || pv.height !== size)
          throw new Error(`${rel}: preprocessed to ${pv.width}×${pv.height}, expected ${size}`);
        px = pv.data;
        cache.set(rel, px);
      }
      return px;
    },
  };
}
