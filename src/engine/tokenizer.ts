// Owns the text tokenizer: a transformers.js PreTrainedTokenizer built from JSON the ModelSource returned (it never
// fetches), plus the model's Jinja chat template. It must not know about images, prompts formats or ONNX.

import * as hf from '@huggingface/transformers';
import type { Message } from '@huggingface/transformers';
import { EngineError } from '../shared/errors';
import { checkedPieceStarts, type PieceStarts } from './token-pieces';

/** What the engine needs from a tokenizer. */
export interface TextTokenizer {
  /** Ids of `text`; `addSpecialTokens` runs the tokenizer's post-processor (e.g. a leading BOS). */
  encode(text: string, addSpecialTokens: boolean): number[];
  /** Text of `ids` with special tokens skipped and no clean-up of spaces, so streaming stays append-only. */
  decode(ids: readonly number[]): string;
  /**
   * Id of an exact token string, or null when the tokenizer has no such token. Looks in the vocabulary, then asks
   * the tokenizer how it encodes the string alone: an added token with a negative id (nanoLLaVA's `<image>` is
   * -200, LLaVA's IMAGE_TOKEN_INDEX) is missing from `get_vocab()` but still encodes to that one id.
   */
  tokenToId(token: string): number | null;
  /** Renders a Jinja chat template (the model's own unless `template` is given) without tokenising. */
  renderChatTemplate(
    messages: Message[],
    options: { addGenerationPrompt: boolean; template?: string },
  ): string;
  readonly chatTemplate: string | null;
  /**
   * Where a text may be tokenised in pieces that add up to the whole (after the tokenizer passed that check at
   * load); null or absent: always tokenise whole.
   */
  readonly pieceStarts?: PieceStarts | null;
  readonly bosToken: string | null;
  readonly eosTokenId: number | null;
}

/** Encodings kept, most recent last. */
const RECENT_ENCODINGS = 16;

/**
 * The last few encodings by text. A turn tokenises the same conversation text more than once (the draft worked
 * ahead on and the message sent; the turn closed ahead and the next prompt's checkpoint), and a long conversation
 * costs milliseconds per pass. Callers get their own copy.
 */
class RecentEncodings {
  private readonly entries = new Map<string, number[]>();

  get(text: string, addSpecialTokens: boolean, encode: () => number[]): number[] {
    const key = `${addSpecialTokens ? 1 : 0}${text}`;
    let ids = this.entries.get(key);
    if (ids) this.entries.delete(key);
    else ids = encode();
    this.entries.set(key, ids);
    if (this.entries.size > RECENT_ENCODINGS) this.entries.delete(this.entries.keys().next().value as string);
    return ids.slice();
  }
}

type TokenizerClass = new (json: unknown, config: unknown) => hf.PreTrainedTokenizer;

function tokenizerClass(config: Record<string, unknown>): TokenizerClass {
  // Same choice as AutoTokenizer.from_pretrained, without its file loading.
  const name = typeof config.tokenizer_class === 'string' ? config.tokenizer_class.replace(/Fast$/, '') : '';
  const candidate = (hf as unknown as Record<string, unknown>)[name];
  if (typeof candidate === 'function' && candidate.prototype instanceof hf.PreTrainedTokenizer) {
    return candidate as TokenizerClass;
  }
  return hf.PreTrainedTokenizer as unknown as TokenizerClass;
}

/** The one id `token` encodes to on its own, or null when it takes several (it is then no single token). */
function singleTokenId(tok: hf.PreTrainedTokenizer, token: string): number | null {
  const ids = tok.encode(token, { add_special_tokens: false });
  return ids.length === 1 ? (ids[0] as number) : null;
}

/**
 * Builds the tokenizer from tokenizer.json and tokenizer_config.json (already parsed).
 * `chatTemplate` (from chat_template.json / .jinja) is used when tokenizer_config.json has none.
 * @throws EngineError('bad-model') when the files cannot make a tokenizer.
 */
export function createTokenizer(
  tokenizerJson: unknown,
  tokenizerConfig: unknown,
  chatTemplate?: string | null,
): TextTokenizer {
  const config: Record<string, unknown> =
    typeof tokenizerConfig === 'object' && tokenizerConfig !== null ? { ...(tokenizerConfig as object) } : {};
  if (config.chat_template === undefined && chatTemplate) config.chat_template = chatTemplate;
  let tok: hf.PreTrainedTokenizer;
  try {
    tok = new (tokenizerClass(config))(tokenizerJson, config);
  } catch (cause) {
    throw new EngineError(
      'bad-model',
      "The model's tokenizer files could not be read. Re-download the model.",
      {
        cause,
      },
    );
  }
  const template = typeof tok.chat_template === 'string' ? tok.chat_template : null;
  const vocab = tok.get_vocab();
  const encoded = new RecentEncodings();
  return {
    encode: (text, addSpecialTokens) =>
      encoded.get(text, addSpecialTokens, () => tok.encode(text, { add_special_tokens: addSpecialTokens })),
    decode: (ids) =>
      ids.length === 0
        ? ''
        : tok.decode([...ids], { skip_special_tokens: true, clean_up_tokenization_spaces: false }),
    tokenToId: (token) => vocab.get(token) ?? singleTokenId(tok, token),
    renderChatTemplate: (messages, { addGenerationPrompt, template: override }) =>
      tok.apply_chat_template(messages, {
        tokenize: false,
        add_generation_prompt: addGenerationPrompt,
        ...(override === undefined ? {} : { chat_template: override }),
      }),
    chatTemplate: template,
    pieceStarts: checkedPieceStarts(tokenizerJson, (text, addSpecialTokens) =>
      tok.encode(text, { add_special_tokens: addSpecialTokens }),
    ),
    bosToken: tok.bos_token ?? null,
    eosTokenId: typeof tok.eos_token_id === 'number' ? tok.eos_token_id : null,
  };
}
