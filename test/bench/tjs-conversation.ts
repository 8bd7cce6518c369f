// Owns the benchmark conversation as transformers.js runs it: each turn renders the whole chat with the model's
// template, preprocesses the picture again and calls generate(), which prefills everything anew. Shared by the Node
// child (node-tjs.ts) and the browser page (pages/tjs-bench-page.ts); no Node or DOM imports.

import type * as HF from '@huggingface/transformers';
import { templateUsesContentParts, toTemplateMessages } from '../../src/engine/prompt';
import type { ChatMessage, RawImage } from '../../src/shared/protocol';
import { QUESTIONS, thinkTime, type TurnTiming } from './conversation';

type Hf = typeof HF;
type Processor = Awaited<ReturnType<Hf['AutoProcessor']['from_pretrained']>>;
type Model = Awaited<ReturnType<Hf['LlavaForConditionalGeneration']['from_pretrained']>>;

/** Extra per-turn figures a runtime can add (Node: the split of decode time inside and outside session.run). */
export interface TurnProbe {
  begin(): number;
  end(mark: number): Partial<TurnTiming>;
}

/** The three benchmark turns about `image`, each with its own answer in the history. */
export async function tjsConversation(
  hf: Hf,
  processor: Processor,
  model: Model,
  image: RawImage,
  newTokens: readonly number[],
  probe?: TurnProbe,
): Promise<TurnTiming[]> {
  const hfImage = new hf.RawImage(image.data, image.width, image.height, 4);
  const tokenizer = processor.tokenizer as NonNullable<typeof processor.tokenizer>;
  const template = typeof tokenizer.chat_template === 'string' ? tokenizer.chat_template : '';
  const messages: ChatMessage[] = [
    {
      role: 'user',
      content: [
        { type: 'image', image },
        { type: 'text', text: QUESTIONS[0] },
      ],
    },
  ];
  const turns: TurnTiming[] = [];
  for (let k = 0; k < QUESTIONS.length; k++) {
    const prompt = tokenizer.apply_chat_template(
      toTemplateMessages(messages, templateUsesContentParts(template), '<image>'),
      { tokenize: false, add_generation_prompt: true },
    ) as string;
    const stamps: number[] = [];
    // A chat UI streams text as it comes: transformers.js's own TextStreamer (it decodes as it goes, as ours does).
    const streamer = new hf.TextStreamer(tokenizer, {
      skip_prompt: true,
      skip_special_tokens: true,
      callback_function: () => undefined,
      token_callback_function: () => stamps.push(performance.now()),
    });
    const mark = probe?.begin() ?? 0;
    const start = performance.now();
    const inputs = await processor(hfImage, prompt);
    const promptTokens = inputs.input_ids.dims[1] as number;
    const out = (await model.generate({
      ...inputs,
      max_new_tokens: newTokens[k] ?? 16,
      do_sample: false,
      streamer,
    })) as HF.Tensor;
    const ids = Array.from(out.data as BigInt64Array, Number).slice(promptTokens);
    const first = stamps[0] ?? start;
    const last = stamps[stamps.length - 1] ?? first;
    const text = tokenizer.decode(ids, { skip_special_tokens: true });
    turns.push({
      promptTokens,
      ttftMs: first - start,
      newTokens: stamps.length,
      decodeTokPerS: stamps.length > 1 && last > first ? (stamps.length - 1) / ((last - first) / 1000) : 0,
      text,
      ...probe?.end(mark),
    });
    const next = QUESTIONS[k + 1];
    if (next) {
      messages.push({ role: 'assistant', content: text }, { role: 'user', content: next });
      await thinkTime();
    }
  }
  return turns;
}
