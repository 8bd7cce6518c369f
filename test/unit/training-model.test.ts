// The TF.js micro LLaVA: its forward pass against the float64 reference, its training step (what trains, what stays
// frozen, the loss going down), and its prompts against the engine's own prompt builder.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initTf } from '../../src/training/model/backend';
import { microConfig, dimsOf } from '../../src/training/model/config';
import { initParams, toWeightMap } from '../../src/training/model/params';
import { llavaLogits, maskedCrossEntropy } from '../../src/training/model/forward';
import { makeBatch } from '../../src/training/model/batches';
import { AdamW } from '../../src/training/model/optimizer';
import {
  configFor,
  engineTokenizer,
  fitTokenizer,
  SYSTEM_PROMPTS,
  tokenizerCorpus,
} from '../../src/training/model/tokenizer';
import { conversationSequence, type SequenceContext } from '../../src/training/model/sequences';
import { conversationRecord, captionRecord } from '../../src/training/data/llava-format';
import { Rng } from '../../src/training/data/rng';
import { sampleScene } from '../../src/training/data/scene';
import { caption, makeConversation } from '../../src/training/data/language';
import { renderPrompt, tokenizePrompt } from '../../src/engine/prompt';
import { referencePrefill } from '../fixtures/reference';

beforeAll(async () => {
  await initTf();
});

const config = microConfig(300, { bos: 1, eos: 2, image: 298, pad: 299 });
const d = dimsOf(config);

function seqWithImage(T: number, at: number): { ids: number[]; placement: Float32Array } {
  const rng = new Rng(4);
  const ids = Array.from({ length: T }, () => 3 + rng.int(290));
  const placement = new Float32Array(T * 16);
  for (let j = 0; j < 16; j++) {
    ids[at + j] = config.image_token_index;
    placement[(at + j) * 16 + j] = 1;
  }
  return { ids, placement };
}

describe('TF.js forward pass', () => {
  it('matches the float64 reference (CLIP tower, projector, merge, LLaMA decoder) within 1e-4', () => {
    const params = initParams(config, 27, 123);
    const T = 24;
    const { ids, placement } = seqWithImage(T, 3);
    const rng = new Rng(9);
    const pixels = Float32Array.from({ length: 3 * 32 * 32 }, () => rng.uniform(-1.8, 2.1));
    const logits = tf.tidy(() =>
      llavaLogits(params, d, {
        ids: tf.tensor2d(Int32Array.from(ids), [1, T], 'int32'),
        pixels: tf.tensor4d(pixels, [1, 3, 32, 32]),
        placement: tf.tensor3d(placement, [1, T, 16]),
      }).dataSync(),
    );
    const ref = referencePrefill(config, toWeightMap(params), ids, { data: pixels });
    let maxDiff = 0;
    for (let i = 0; i < ref.logits.length; i++)
      maxDiff = Math.max(maxDiff, Math.abs(ref.logits[i]! - logits[i]!));
    expect(logits.length).toBe(ref.logits.length);
    expect(maxDiff).toBeLessThan(1e-4);
    params.dispose();
  });
});

describe('training step', () => {
  it('lowers the loss on a batch and leaves frozen groups untouched', () => {
    const params = initParams(config, 27, 5);
    const T = 30;
    const { ids, placement: _p } = seqWithImage(T, 2);
    const answer = new Uint8Array(T).fill(0).fill(1, 20);
    const rng = new Rng(2);
    const img = Float32Array.from({ length: 3 * 32 * 32 }, () => rng.uniform(-1, 1));
    const seq = { ids: Int32Array.from(ids), answer, image: 'x', imageStart: 2 };
    const batch = makeBatch([seq, seq], 299, 16, { size: 32, get: () => img });
    const train = params.namesIn(['projector', 'language']).map((n) => params.get(n));
    const frozen = params.get('vision_tower.vision_model.encoder.layers.0.mlp.fc1.weight');
    const frozenBefore = frozen.dataSync().slice();
    const lossFn = () =>
      maskedCrossEntropy(llavaLogits(params, d, batch), batch.targets, batch.mask, d.vocab);
    const opt = new AdamW();
    const losses: number[] = [];
    for (let s = 0; s < 8; s++) {
      const { value, grads } = tf.variableGrads(lossFn, train);
      losses.push(value.dataSync()[0]!);
      opt.apply(params.vars, params.byName(grads), 3e-3);
      tf.dispose([value, ...Object.values(grads)]);
    }
    expect(losses[7]!).toBeLessThan(losses[0]! * 0.8);
    expect(Array.from(frozen.dataSync())).toEqual(Array.from(frozenBefore));
    expect(batch.tokens).toBe(2 * 10);
    params.dispose();
    opt.dispose();
  });
});

describe('training prompts', () => {
  const rng = new Rng(12);
  const scenes = Array.from({ length: 40 }, (_, i) => sampleScene(rng, `s${i}`));
  const records = scenes.map((s) =>
    conversationRecord(s.id, `${s.id}.png`, makeConversation(s, rng), 'conversation'),
  );
  const captions = scenes.map((s) => captionRecord(s.id, `${s.id}.png`, 'Describe.', caption(s)));
  const tok = fitTokenizer(tokenizerCorpus([...records, ...captions]));
  const cfg = configFor(tok);
  const ctx: SequenceContext = {
    tokenizer: engineTokenizer(tok, cfg),
    imageTokenId: tok.ids.image,
    eosTokenId: tok.ids.eos,
    imageFeatures: 16,
  };

  it('fits a vocabulary where every data word is one token', () => {
    const ids = ctx.tokenizer.encode('The red circle is on the left.', false);
    expect(ids.map((i) => tok.tokens[i])).toEqual([
      '▁The',
      '▁red',
      '▁circle',
      '▁is',
      '▁on',
      '▁the',
      '▁left.',
    ]);
    expect(cfg.text_config.vocab_size).toBe(tok.tokens.length);
  });

  it('trains on exactly the prompt the engine builds, with loss on the answers and </s> only', () => {
    for (const [k, record] of records.entries()) {
      const system = SYSTEM_PROMPTS[k % 2]!;
      const seq = conversationSequence(record, system, ctx);
      const q = record.conversations[0]!.value.replace('<image>\n', '');
      const template = k % 2 === 0 ? 'vicuna_v1' : 'model';
      const image = { width: 1, height: 1, data: new Uint8Array(4) };
      const rendered = renderPrompt(
        [
          {
            role: 'user',
            content: [
              { type: 'image', image },
              { type: 'text', text: q },
            ],
          },
        ],
        template,
        ctx.tokenizer,
        '<image>',
      );
      const prompt = tokenizePrompt(rendered, ctx.tokenizer, tok.ids.image, [16]).ids;
      expect(Array.from(seq.ids.slice(0, prompt.length))).toEqual(prompt);
      expect(seq.answer.slice(0, prompt.length).every((a) => a === 0)).toBe(true);
      const answered = Array.from(seq.ids).filter((_, i) => seq.answer[i]);
      const answers = record.conversations.filter((t) => t.from === 'gpt').map((t) => t.value);
      expect(answered.filter((id) => id === tok.ids.eos)).toHaveLength(answers.length);
      expect(ctx.tokenizer.decode(answered)).toBe(answers.join(' '));
      expect(Array.from(seq.ids).filter((id) => id === tok.ids.image)).toHaveLength(16);
    }
  });

  it('turns stage-1 caption pairs (instruction, then <image>) into the engine prompt with the image first', () => {
    const seq = conversationSequence(captions[0]!, SYSTEM_PROMPTS[0]!, ctx);
    const image = { width: 1, height: 1, data: new Uint8Array(4) };
    const rendered = renderPrompt(
      [
        {
          role: 'user',
          content: [
            { type: 'image', image },
            { type: 'text', text: 'Describe.' },
          ],
        },
      ],
      'vicuna_v1',
      ctx.tokenizer,
      '<image>',
    );
    const prompt = tokenizePrompt(rendered, ctx.tokenizer, tok.ids.image, [16]).ids;
    expect(Array.from(seq.ids.slice(0, prompt.length))).toEqual(prompt);
    const captionIds = Array.from(seq.ids).filter((_, i) => seq.answer[i]);
    expect(ctx.tokenizer.decode(captionIds)).toBe(caption(scenes[0]!));
  });
});

describe('shared-prefix batches', () => {
  it('give the same logits and loss as full sequences while running the common prefix once', () => {
    const params = initParams(config, 27, 77);
    const rng = new Rng(31);
    const prefix = Array.from({ length: 12 }, () => 3 + rng.int(290));
    const seqs = [32, 38, 35].map((len, b) => {
      const ids = [...prefix, ...Array.from({ length: len - 12 }, () => 3 + rng.int(290))];
      for (let j = 0; j < 16; j++) ids[12 + j] = config.image_token_index;
      const answer = new Uint8Array(len).fill(0).fill(1, len - 3 - b);
      return { ids: Int32Array.from(ids), answer, image: `img${b}`, imageStart: 12 };
    });
    const img = (name: string) =>
      Float32Array.from({ length: 3 * 32 * 32 }, (_, i) => Math.sin(i * (name.length + Number(name.at(-1)))));
    const store = { size: 32, get: img };
    const full = makeBatch(
      seqs.map((s) => ({ ...s, ids: s.ids.slice(), answer: s.answer.slice() })),
      299,
      16,
      store,
      false,
    );
    const shared = makeBatch(seqs, 299, 16, store, true);
    expect(shared.prefixIds?.shape).toEqual([1, 12]);
    const [lf, ls, logitsF, logitsS] = tf.tidy(() => {
      const a = llavaLogits(params, d, full);
      const b = llavaLogits(params, d, shared);
      return [
        maskedCrossEntropy(a, full.targets, full.mask, d.vocab).dataSync()[0]!,
        maskedCrossEntropy(b, shared.targets, shared.mask, d.vocab).dataSync()[0]!,
        a.arraySync() as number[][][],
        b.arraySync() as number[][][],
      ];
    });
    expect(Math.abs(lf - ls)).toBeLessThan(1e-5);
    let maxDiff = 0;
    seqs.forEach((s, b) => {
      for (let t = 12; t < s.ids.length; t++) {
        logitsF[b]![t]!.forEach(
          (v, k) => (maxDiff = Math.max(maxDiff, Math.abs(v - logitsS[b]![t - 12]![k]!))),
        );
      }
    });
    expect(maxDiff).toBeLessThan(1e-4);
    expect(shared.tokens).toBe(full.tokens);
    params.dispose();
  });
});
