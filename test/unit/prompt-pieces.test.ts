// Prompts tokenised in pieces (finished turns kept per conversation) give exactly the ids of tokenising the whole
// rendered prompt, over a long chat with pictures, turns left out and reloaded answers, for the demo model's ChatML
// template and Vicuna (LLaVA-1.5's published template and the built-in vicuna_v1); tokenizers where pieces would not
// add up keep tokenising whole.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderPrompt } from '../../src/engine/prompt';
import { createTokenizer, type TextTokenizer } from '../../src/engine/tokenizer';
import { checkedPieceStarts, encodeInPieces } from '../../src/engine/token-pieces';
import { Transcript, type RecordedAnswer } from '../../src/engine/transcript';
import type { ChatMessage, TemplateName } from '../../src/shared/protocol';
import { LLAVA15_7B } from '../fixtures/replicas/published';
import { replicaTokenizer } from '../fixtures/replicas/replica-model';
import { getTinyModel } from '../fixtures/tiny-model';
import { imageQuestion, picture } from './engine-helpers';

const readJson = (dir: string, file: string): unknown =>
  JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as unknown;

function demoTokenizer(): TextTokenizer {
  const dir = getTinyModel('tiny').dir;
  return createTokenizer(readJson(dir, 'tokenizer.json'), readJson(dir, 'tokenizer_config.json'));
}

function vicunaTokenizer(json: unknown = replicaTokenizer(LLAVA15_7B)): TextTokenizer {
  return createTokenizer(json, LLAVA15_7B.tokenizerConfig, LLAVA15_7B.chatTemplate);
}

const WORDS = ['the', ' red', ' circle', '\n', ' two  spaces', 'é', ' 42', '!', ' corner', '  ', 'Left'];

function question(k: number): string {
  return `Q${k}:${Array.from({ length: 3 + (k % 5) }, (_, i) => WORDS[(k * 3 + i * 7) % WORDS.length]).join('')}`;
}

/** An answer and ids that spell it but are not its tokenisation (as generated ids often are): word by word. */
function answer(tok: TextTokenizer, k: number): RecordedAnswer {
  const text = `A${k}${Array.from({ length: 2 + (k % 4) }, (_, i) => WORDS[(k + i * 5) % WORDS.length]).join('')}`;
  const ids = text.split(/(?=[ \n])/).flatMap((w) => tok.encode(w, false));
  return { text, ids };
}

interface Side {
  transcript: Transcript;
}

/**
 * Runs `turns` turns the way the engine does (resolve the prompt, record it with the answer), on two transcripts
 * side by side: one with the piece cache, one tokenising whole. Every few turns a candidate leaving out middle turns
 * is resolved too (what fitting to the window measures), and answers come back with their ids (a reloaded chat).
 * Returns the characters the piece cache tokenised per turn.
 */
function runChat(tok: TextTokenizer, template: TemplateName, turns: number): number[] {
  const imageToken = '<image>';
  const imageTokenId = tok.tokenToId(imageToken) ?? -1;
  const pieces: Side = { transcript: new Transcript() };
  const whole: Side = { transcript: new Transcript({ pieces: false }) };
  const messages: ChatMessage[] = [
    { role: 'system', content: 'You describe pictures.' },
    imageQuestion(picture(8, 8, 1), question(0)),
  ];
  const answers: RecordedAnswer[] = [];
  const charsPerTurn: number[] = [];
  const keysOf = (ms: readonly ChatMessage[]) =>
    ms.flatMap((m, i) =>
      typeof m.content === 'string' ? [] : m.content.filter((p) => p.type === 'image').map(() => `img${i}`),
    );
  const resolveBoth = (ms: ChatMessage[]) => {
    const rendered = renderPrompt(ms, template, tok, imageToken);
    const context = {
      encode: tok.encode,
      pieceStarts: tok.pieceStarts ?? null,
      imageTokenId,
      imageKeys: keysOf(ms),
      answers: answers.filter((a) => ms.some((m) => m.content === a.text)),
    };
    const a = pieces.transcript.resolve(rendered, context);
    const b = whole.transcript.resolve(rendered, context);
    expect(a.ids).toEqual(b.ids);
    expect(a.marks).toEqual(b.marks);
    expect(a.reusedIds).toBe(b.reusedIds);
    // And both are the tokenisation of the whole text wherever no generated answer was fed back.
    if (context.answers.length === 0)
      expect(a.ids).toEqual(tok.encode(rendered.text, rendered.addSpecialTokens));
    return { a, b };
  };
  for (let k = 0; k < turns; k++) {
    const before = pieces.transcript.pieceStats?.charsEncoded ?? 0;
    if (k % 7 === 6) {
      // A candidate without turns 2..4 (counted in user messages), as fitting a long chat to the window tries.
      const users = messages.flatMap((m, i) => (m.role === 'user' ? [i] : []));
      const from = users[2] as number;
      const to = users[5] as number;
      resolveBoth([...messages.slice(0, from), ...messages.slice(to)]);
    }
    const { a, b } = resolveBoth(messages);
    const reply = answer(tok, k);
    pieces.transcript.record(a, reply);
    whole.transcript.record(b, reply);
    answers.push(reply);
    messages.push(
      { role: 'assistant', content: reply.text },
      k % 9 === 4
        ? imageQuestion(picture(8, 8, k), question(k + 1))
        : { role: 'user', content: question(k + 1) },
    );
    charsPerTurn.push((pieces.transcript.pieceStats?.charsEncoded ?? 0) - before);
  }
  return charsPerTurn;
}

/** ChatML whose rendering of a turn depends on its position and on whether a later turn follows. */
const POSITIONAL_TEMPLATE =
  "{% for m in messages %}{{ '<|im_start|>' + m['role'] + ' #' + loop.index|string }}{% if loop.last %}{{ ' (latest)' }}{% endif %}{{ '\\n' + m['content'] + '<|im_end|>\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

describe('prompts tokenised in pieces', () => {
  // incremental: the template puts a token between turns that starts an independent piece.
  const cases: Array<[string, () => TextTokenizer, TemplateName, boolean]> = [
    ['demo model (ChatML, its own template)', demoTokenizer, 'model', true],
    [
      'LLaVA-1.5 tokenizer, built-in vicuna_v1 (</s> ends each answer)',
      () => vicunaTokenizer(),
      'vicuna_v1',
      true,
    ],
    // llava-hf's template writes no special token between turns: the text between pictures is one piece.
    [
      "LLaVA-1.5 (the model's published template: plain text between turns)",
      () => vicunaTokenizer(),
      'model',
      false,
    ],
  ];

  for (const [name, make, template, incremental] of cases) {
    it(`${name}: the same ids as tokenising the whole prompt over 60 turns with pictures`, () => {
      const tok = make();
      expect(tok.pieceStarts).toBeTruthy();
      const chars = runChat(tok, template, 60);
      const early = Math.max(...chars.slice(8, 14));
      const late = Math.max(...chars.slice(54, 60));
      if (incremental) {
        // Late turns tokenise about what they added (a question, an answer, the template's marks around them),
        // not the history: the same as early turns, and far less than the prompt (thousands of chars by turn 60).
        expect(late).toBeLessThan(400);
        expect(late).toBeLessThanOrEqual(early + 200);
      } else {
        // The text since the last picture (turn 49) is tokenised again every turn, over 1,000 chars by turn 57;
        // the ids stay exact.
        expect(late).toBeGreaterThan(800);
      }
    });
  }

  it('a template that renders each turn by its position and by what follows it: the same ids as whole', () => {
    const dir = getTinyModel('tiny').dir;
    const config = {
      ...(readJson(dir, 'tokenizer_config.json') as object),
      chat_template: POSITIONAL_TEMPLATE,
    };
    const tok = createTokenizer(readJson(dir, 'tokenizer.json'), config);
    const rendered = renderPrompt(
      [
        { role: 'user', content: 'a' },
        { role: 'assistant', content: 'b' },
      ],
      'model',
      tok,
      '<image>',
    );
    expect(rendered.text).toContain('#2 (latest)');
    // Turns left out renumber every later turn: their pieces are new text, tokenised again, never reused wrongly.
    runChat(tok, 'model', 30);
  });

  it('a tokenizer whose turn tokens eat the space before them keeps tokenising whole, with the same ids', () => {
    const json = structuredClone(replicaTokenizer(LLAVA15_7B));
    for (const t of json.added_tokens) t.lstrip = true;
    const tok = vicunaTokenizer(json);
    expect(tok.pieceStarts ?? null).toBeNull();
    const chars = runChat(tok, 'vicuna_v1', 12);
    // No piece cache was used: every prompt went to the tokenizer whole.
    expect(chars.every((c) => c === 0)).toBe(true);
  });

  it('a tokenizer whose pieces would not add up (an end token appended to every text) fails the load check', () => {
    const json = structuredClone(replicaTokenizer(LLAVA15_7B)) as unknown as Record<string, unknown>;
    json.post_processor = {
      type: 'TemplateProcessing',
      single: [
        { SpecialToken: { id: '<s>', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '</s>', type_id: 0 } },
      ],
      pair: [{ Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: {
        '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] },
        '</s>': { id: '</s>', ids: [2], tokens: ['</s>'] },
      },
    };
    const tok = vicunaTokenizer(json);
    // The scan alone would cut (</s> and <image> strip nothing), but pieces end in </s> each: refused at load.
    const text = 'USER: hi ASSISTANT: yes</s>USER: <image>\nand?';
    expect(encodeInPieces(text, true, [{ at: 23, tokenEnd: 27 }], tok.encode)).not.toEqual(
      tok.encode(text, true),
    );
    expect(tok.pieceStarts ?? null).toBeNull();
    expect(runChat(tok, 'vicuna_v1', 8).every((c) => c === 0)).toBe(true);
  });

  it('the load check refuses an encoder that is not piecewise', () => {
    const json = replicaTokenizer(LLAVA15_7B);
    const tok = vicunaTokenizer();
    // Counts characters before each token: any cut changes the ids after it.
    const positional = (text: string, special: boolean) => tok.encode(text, special).map((id, i) => id + i);
    expect(checkedPieceStarts(json, tok.encode)).not.toBeNull();
    expect(checkedPieceStarts(json, positional)).toBeNull();
  });
});
