// Parity with transformers.js: on generated tiny LLaVA models, our prompt ids, first-step logits and greedy tokens
// equal LlavaForConditionalGeneration.generate (AutoProcessor, offline) for square / wide / tall images and a
// three-turn conversation in which our engine reuses its KV cache while transformers.js recomputes everything.
import {
  AutoProcessor,
  LlavaForConditionalGeneration,
  RawImage as HfRawImage,
  type PreTrainedModel,
  type Processor,
  type Tensor,
} from '@huggingface/transformers';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateTurn, type TurnInput } from '../../src/engine/generate';
import { ConversationKv } from '../../src/engine/kv-cache';
import { loadModel, type LoadedModel } from '../../src/engine/model-loader';
import { renderPrompt } from '../../src/engine/prompt';
import { Sampler, samplerSettings } from '../../src/engine/sampler';
import { buildTurnInput } from '../../src/engine/turn-input';
import { folderSource } from '../../src/node/folder-source';
import { createNodeEngine, NODE_CPU_BACKEND } from '../../src/node/node-engine';
import type { ChatMessage, RawImage } from '../../src/shared/protocol';
import { getTinyModel } from '../fixtures/tiny-model';
import { offlineModelId } from '../fixtures/transformers-offline';

const CPU = NODE_CPU_BACKEND;
const MAX_NEW = 16;
const LOGIT_TOLERANCE = 1e-4;

function picture(w: number, h: number, seed: number): RawImage {
  const data = new Uint8ClampedArray(w * h * 4).map(
    (_, i) => (i * i * 7 + i * (31 + seed) + 11 * seed) % 256,
  );
  return { width: w, height: h, data };
}

interface Side {
  dir: string;
  ours: LoadedModel;
  processor: Processor;
  model: PreTrainedModel;
}

const figures: string[] = [];
let maxLogitDiff = 0;

async function setUp(preset: 'tiny' | 'tiny-qwen-siglip'): Promise<Side> {
  const { dir } = getTinyModel(preset);
  const id = offlineModelId(dir);
  return {
    dir,
    ours: await loadModel({ ort, source: folderSource(dir), backend: CPU, dtype: 'fp32' }),
    processor: await AutoProcessor.from_pretrained(id),
    model: await LlavaForConditionalGeneration.from_pretrained(id, { dtype: 'fp32', device: 'cpu' }),
  };
}

/** transformers.js: processor on the rendered prompt, then a forward pass and greedy generate. */
async function theirs(side: Side, image: RawImage, prompt: string) {
  const inputs = await side.processor(new HfRawImage(image.data, image.width, image.height, 4), prompt);
  const ids = Array.from(inputs.input_ids.data as BigInt64Array, Number);
  const { logits } = (await side.model({ ...inputs })) as { logits: Tensor };
  const vocab = logits.dims[2] as number;
  const last = (logits.data as Float32Array).slice(-vocab);
  const out = (await side.model.generate({ ...inputs, max_new_tokens: MAX_NEW, do_sample: false })) as Tensor;
  const generated = Array.from(out.data as BigInt64Array, Number).slice(ids.length);
  const pixels = inputs.pixel_values as Tensor;
  return {
    ids,
    logits: last,
    generated,
    pixels: {
      data: pixels.data as Float32Array,
      height: pixels.dims[2] as number,
      width: pixels.dims[3] as number,
    },
  };
}

/** Ours: the engine's turn pipeline (features → prompt ids → prefill with KV reuse → greedy decode). */
async function ours(side: Side, input: TurnInput, kv: ConversationKv) {
  let first: Float32Array | null = null;
  const r = await generateTurn(ort, side.ours.decoder, side.ours.config.text.hiddenSize, kv, input, {
    sampler: new Sampler(samplerSettings({ seed: 0 })),
    maxNewTokens: MAX_NEW,
    eosIds: new Set(side.ours.config.eosTokenIds),
    stops: [],
    contextLength: side.ours.config.text.contextLength,
    decode: side.ours.tokenizer.decode,
    onText: () => undefined,
    now: () => performance.now(),
    startedAt: performance.now(),
    onLogits: (l, step) => {
      if (step === 0) first = l.slice();
    },
  });
  return { ...r, first: first as unknown as Float32Array };
}

function logitDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs((a[i] as number) - (b[i] as number)));
  maxLogitDiff = Math.max(maxLogitDiff, d);
  return d;
}

/** transformers.js keeps the EOS it generated; we report it as the finish reason instead. */
function withEos(ids: number[], finish: string, eos: number[]): number[] {
  return finish === 'stop' ? [...ids, eos[0] as number] : ids;
}

const cases = [
  { name: 'square 32×32', image: picture(32, 32, 1), question: 'What is in this picture?' },
  { name: 'wide 64×24', image: picture(64, 24, 2), question: 'Describe the colours.' },
  { name: 'tall 20×50', image: picture(20, 50, 3), question: 'Is there a cat? Answer briefly.' },
];

for (const preset of ['tiny', 'tiny-qwen-siglip'] as const) {
  describe(`parity with transformers.js: ${preset} (fp32, greedy)`, () => {
    let side: Side;
    beforeAll(async () => {
      side = await setUp(preset);
    });
    afterAll(async () => {
      await side.ours.release();
    });

    for (const c of cases) {
      it(`${c.name}: same prompt ids, first logits within ${LOGIT_TOLERANCE}, same greedy tokens`, async () => {
        const messages: ChatMessage[] = [
          {
            role: 'user',
            content: [
              { type: 'image', image: c.image },
              { type: 'text', text: c.question },
            ],
          },
        ];
        const prompt = renderPrompt(messages, 'model', side.ours.tokenizer, side.ours.imageToken).text;
        const t = await theirs(side, c.image, prompt);
        // Same pixel_values for both, so resize differences (tested in preprocess.test.ts) stay out of this test.
        const input = await buildTurnInput(side.ours, messages, 'model', [t.pixels], null);
        expect(input.ids).toEqual(t.ids);
        const o = await ours(side, input, new ConversationKv());
        const d = logitDiff(o.first, t.logits);
        expect(d).toBeLessThan(LOGIT_TOLERANCE);
        expect(withEos(o.ids, o.finishReason, side.ours.config.eosTokenIds)).toEqual(t.generated);
        expect(o.ids.length).toBeGreaterThan(0);
        figures.push(`${preset} ${c.name}: ${t.generated.length} tokens, max |Δlogit| ${d.toExponential(2)}`);
      });
    }

    it('three-turn conversation: our KV reuse across turns gives the tokens of a full recompute', async () => {
      const image = picture(48, 40, 4);
      const questions = ['What is this?', 'What colour is it?', 'Say that again in one word.'];
      const kv = new ConversationKv();
      const messages: ChatMessage[] = [];
      let pixels: { data: Float32Array; height: number; width: number } | null = null;
      for (const [turn, q] of questions.entries()) {
        messages.push(
          turn === 0
            ? {
                role: 'user',
                content: [
                  { type: 'image', image },
                  { type: 'text', text: q },
                ],
              }
            : { role: 'user', content: q },
        );
        const prompt = renderPrompt(messages, 'model', side.ours.tokenizer, side.ours.imageToken).text;
        const t = await theirs(side, image, prompt);
        pixels ??= t.pixels;
        const input = await buildTurnInput(side.ours, messages, 'model', [pixels], null);
        expect(input.ids).toEqual(t.ids);
        const o = await ours(side, input, kv);
        if (turn > 0)
          expect(o.usage.reusedPromptTokens).toBeGreaterThan(input.spans[0]!.start + input.spans[0]!.length);
        expect(logitDiff(o.first, t.logits)).toBeLessThan(LOGIT_TOLERANCE);
        expect(withEos(o.ids, o.finishReason, side.ours.config.eosTokenIds)).toEqual(t.generated);
        figures.push(
          `${preset} turn ${turn + 1}: reused ${o.usage.reusedPromptTokens}/${o.usage.promptTokens} prompt tokens`,
        );
        messages.push({ role: 'assistant', content: o.text });
      }
    });
  });
}

describe('parity through the public engine API (our own preprocessing)', () => {
  it('chat() on a square image that needs no resize answers with the tokens transformers.js generates', async () => {
    const side = await setUp('tiny');
    const engine = createNodeEngine(side.dir);
    await engine.load({ kind: 'local', id: 'tiny' }, { dtype: 'fp32' });
    const image = picture(32, 32, 9);
    const messages: ChatMessage[] = [
      {
        role: 'user',
        content: [
          { type: 'image', image },
          { type: 'text', text: 'What do you see?' },
        ],
      },
    ];
    const result = await engine.chat({ messages, sampling: { maxNewTokens: MAX_NEW } });
    const { tokenizer, imageToken, config } = side.ours;
    const t = await theirs(side, image, renderPrompt(messages, 'model', tokenizer, imageToken).text);
    const eos = new Set(config.eosTokenIds);
    expect(t.generated.length).toBeGreaterThan(0);
    expect(result.message.content).toBe(tokenizer.decode(t.generated.filter((id) => !eos.has(id))));
    expect(result.usage.completionTokens).toBe(t.generated.length);
    await engine.unload();
    await side.ours.release();
  });
});

afterAll(() => {
  console.info(
    `[parity] max |Δlogit| over all cases: ${maxLogitDiff.toExponential(2)}\n${figures.join('\n')}`,
  );
});
