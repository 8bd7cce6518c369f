// Shared steps of the replica tests: load a replica through our loader and through transformers.js (around a suite),
// run one greedy turn on each from the same pixel values, carry a two-turn conversation on our side, and render a
// conversation through the model's own template. Test-only; assertions stay in the test files.
import {
  AutoProcessor,
  AutoTokenizer,
  LlavaForConditionalGeneration,
  RawImage as HfRawImage,
  Tensor,
  type PreTrainedModel,
  type PreTrainedTokenizer,
  type Processor,
} from '@huggingface/transformers';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll } from 'vitest';
import { generateTurn, type TurnInput } from '../../../src/engine/generate';
import { ConversationKv } from '../../../src/engine/kv-cache';
import { parseModelConfig, type ModelConfig } from '../../../src/engine/model-config';
import { loadModel, type LoadedModel } from '../../../src/engine/model-loader';
import { renderPrompt } from '../../../src/engine/prompt';
import { buildTurnInput } from '../../../src/engine/turn-input';
import { folderSource } from '../../../src/node/folder-source';
import type { ChatMessage, RawImage } from '../../../src/shared/protocol';
import type { PublishedModel } from '../../fixtures/replicas/published';
import { getReplicaModel, type ReplicaModel } from '../../fixtures/replicas/replica-model';
import { offlineModelId } from '../../fixtures/transformers-offline';
import { CPU_BACKEND, greedyTurnOptions, imageQuestion } from '../engine-helpers';

export { imageQuestion as imageTurn, picture } from '../engine-helpers';

export const MAX_NEW = 6;

export interface ReplicaSides {
  replica: ReplicaModel;
  ours: LoadedModel;
  tokenizer: PreTrainedTokenizer;
  processor: Processor;
  model: PreTrainedModel;
}

export async function openReplica(p: PublishedModel): Promise<ReplicaSides> {
  const replica = getReplicaModel(p);
  const id = offlineModelId(replica.dir);
  return {
    replica,
    ours: await loadModel({ ort, source: folderSource(replica.dir), backend: CPU_BACKEND, dtype: 'fp32' }),
    tokenizer: await AutoTokenizer.from_pretrained(id),
    processor: await AutoProcessor.from_pretrained(id),
    model: await LlavaForConditionalGeneration.from_pretrained(id, { dtype: 'fp32', device: 'cpu' }),
  };
}

/**
 * Opens the replica before the tests of the enclosing describe and closes it after them (call it inside that
 * describe). The sides exist only once beforeAll has run, hence the getter.
 */
export function useReplica(p: PublishedModel): () => ReplicaSides {
  let side: ReplicaSides | undefined;
  beforeAll(async () => {
    side = await openReplica(p);
  }, 240_000);
  afterAll(() => closeReplica(side));
  return () => {
    if (!side) throw new Error(`The ${p.key} replica did not open.`);
    return side;
  };
}

/** The published config files parsed as the loader parses them (unshrunk: the real sizes). */
export function publishedConfig(p: PublishedModel): ModelConfig {
  return parseModelConfig({
    config: p.config,
    generationConfig: p.generationConfig,
    preprocessorConfig: p.preprocessorConfig,
    processorConfig: p.processorConfig ?? undefined,
  });
}

/** transformers.js's pixel_values for `image` (its own processor), in the engine's PixelValues shape. */
export async function theirPixels(side: ReplicaSides, image: RawImage) {
  const inputs = await side.processor(new HfRawImage(image.data, image.width, image.height, 4));
  const t = inputs.pixel_values as Tensor;
  return { data: t.data as Float32Array, height: t.dims[2] as number, width: t.dims[3] as number };
}

/** transformers.js generate() on the given ids and pixels: its greedy tokens (EOS included when it stopped). */
export async function theirGreedy(
  side: ReplicaSides,
  ids: readonly number[],
  pixels: { data: Float32Array; height: number; width: number },
): Promise<number[]> {
  const inputIds = new Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, ids.length]);
  const mask = new Tensor('int64', new BigInt64Array(ids.length).fill(1n), [1, ids.length]);
  const pixelValues = new Tensor('float32', pixels.data, [1, 3, pixels.height, pixels.width]);
  const out = (await side.model.generate({
    input_ids: inputIds,
    attention_mask: mask,
    pixel_values: pixelValues,
    max_new_tokens: MAX_NEW,
    do_sample: false,
  })) as Tensor;
  return Array.from(out.data as BigInt64Array, Number).slice(ids.length);
}

/** Our greedy turn on a built input; the EOS is reported as the finish reason, so it is appended like theirs. */
export async function ourGreedy(side: ReplicaSides, input: TurnInput, kv = new ConversationKv()) {
  const m = side.ours;
  const r = await generateTurn(
    ort,
    m.decoder,
    m.config.text.hiddenSize,
    kv,
    input,
    greedyTurnOptions(m, MAX_NEW),
  );
  const ids = r.finishReason === 'stop' ? [...r.ids, m.config.eosTokenIds[0] as number] : r.ids;
  return { ...r, withEos: ids };
}

/** Our input for `messages`, built from transformers.js's pixel values of `image` (the same pixels on both sides). */
export async function ourInput(side: ReplicaSides, messages: ChatMessage[], image: RawImage) {
  const pixels = await theirPixels(side, image);
  return { pixels, input: await buildTurnInput(side.ours, messages, 'model', [pixels], null) };
}

/**
 * Two turns on our side: `image` with "Describe it." answered greedily, then `answer` written into the history (the
 * replicas' tiny vocabularies cannot spell what they generate) and `question` asked, run on the first turn's KV cache.
 */
export async function ourTwoTurns(side: ReplicaSides, image: RawImage, answer: string, question: string) {
  const kv = new ConversationKv();
  const messages: ChatMessage[] = [imageQuestion(image, 'Describe it.')];
  const { pixels, input: first } = await ourInput(side, messages, image);
  await ourGreedy(side, first, kv);
  messages.push({ role: 'assistant', content: answer }, { role: 'user', content: question });
  const rendered = renderPrompt(messages, 'model', side.ours.tokenizer, side.ours.imageToken).text;
  const input = await buildTurnInput(side.ours, messages, 'model', [pixels], null);
  return { pixels, rendered, input, second: await ourGreedy(side, input, kv) };
}

/** transformers.js's rendering of the model's own template for messages in its content-parts form. */
export function theirTemplate(side: ReplicaSides, messages: unknown[]): string {
  return side.tokenizer.apply_chat_template(messages as never, {
    tokenize: false,
    add_generation_prompt: true,
    ...(side.replica.published.chatTemplate ? { chat_template: side.replica.published.chatTemplate } : {}),
  }) as string;
}

export async function closeReplica(side: ReplicaSides | undefined): Promise<void> {
  await side?.ours.release();
  await side?.model.dispose();
}
