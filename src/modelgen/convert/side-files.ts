// Owns the non-ONNX files of a converted folder: tokenizer files copied (with an `<image>` token added when the
// checkpoint never had one), processor and generation configs copied or derived, and config.json in llava-hf shape
// with our shard description. Reads through SourceFolders; it returns bytes and never writes.
import { fileLabel, readText, type SourceFolder } from './byte-source';
import {
  jsonBytes,
  preprocessorConfigJson,
  processorConfigJson,
  VICUNA_CHAT_TEMPLATE,
  CHATML_CHAT_TEMPLATE,
} from '../llava/config-files';
import type { LlavaHfConfig } from '../llava/types';
import { ConvertError } from './errors';
import type { ConfigFamily } from './source-config';

type Json = Record<string, unknown>;

export const IMAGE_TOKEN = '<image>';

/** Files copied as they are when the input (or the CLIP folder, for the image processor) has them. */
const COPIED = [
  'special_tokens_map.json',
  'chat_template.json',
  'chat_template.jinja',
  'generation_config.json',
];

export interface TokenizerPlan {
  /** Id of `<image>` (existing, or added at the end of the vocabulary). */
  imageTokenId: number;
  /** True when `<image>` was added at the end of the vocabulary. */
  added: boolean;
  /**
   * The highest id the tokenizer names (`<image>` included). When it is at or past embed_tokens' rows (llava-hf's
   * tokenizer, which holds `<image>` = 32000 and `<pad>` = 32001, given to an original 32000-row checkpoint), the
   * table must be padded to `maxTokenId + 1` rows or the engine's Gather fails on the first picture.
   */
  maxTokenId: number;
  /** Ids of the tokenizer's special tokens that end a chat turn in the chat template (e.g. `<|eot_id|>`). */
  endOfTurnIds: number[];
  /** tokenizer.json, tokenizer_config.json (and added_tokens.json when present), possibly with `<image>` added. */
  files: Map<string, Uint8Array>;
}

function readJson(dir: SourceFolder, name: string): Json {
  try {
    return JSON.parse(readText(dir, name)) as Json;
  } catch (cause) {
    throw new ConvertError('bad-config', `${fileLabel(dir, name)} is not valid JSON. Download it again.`, {
      cause,
    });
  }
}

function maxTokenId(tokenizer: Json): number {
  let max = -1;
  const vocab = (tokenizer.model as Json | undefined)?.vocab;
  if (typeof vocab === 'object' && vocab !== null)
    for (const id of Object.values(vocab)) if (typeof id === 'number' && id > max) max = id;
  for (const t of (tokenizer.added_tokens as Json[] | undefined) ?? [])
    if (typeof t.id === 'number' && t.id > max) max = t.id;
  return max;
}

function findToken(tokenizer: Json, content: string): number | null {
  for (const t of (tokenizer.added_tokens as Json[] | undefined) ?? [])
    if (t.content === content && typeof t.id === 'number') return t.id;
  const id = ((tokenizer.model as Json | undefined)?.vocab as Json | undefined)?.[content];
  return typeof id === 'number' ? id : null;
}

/**
 * Reads the tokenizer (tokenizer.json is required: the browser cannot read SentencePiece `tokenizer.model`) and
 * settles the image token: llava-hf configs fix its id (it must match the tokenizer); the original LLaVA repo has
 * none, so `<image>` is added as a special token after the last id (the id llava-hf uses: 32000 for Vicuna).
 * @throws ConvertError 'missing-file' | 'bad-config'
 */
export function planTokenizer(
  dir: SourceFolder,
  config: LlavaHfConfig,
  imageTokenFixed: boolean,
): TokenizerPlan {
  const where = dir.label;
  if (!dir.has('tokenizer.json')) {
    throw new ConvertError(
      'missing-file',
      `${where} has no tokenizer.json${dir.has('tokenizer.model') ? ' (only the SentencePiece tokenizer.model)' : ''}. ` +
        'Write one with Python: python -c "from transformers import AutoTokenizer as T; ' +
        `T.from_pretrained('${where}').save_pretrained('${where}')" — or pass --tokenizer DIR pointing at a folder that ` +
        'holds the same vocabulary as tokenizer.json: for LLaVA-1.5 (Vicuna, 32000 ids) the tokenizer files of ' +
        'llava-hf/llava-1.5-7b-hf (huggingface-cli download llava-hf/llava-1.5-7b-hf --include "*token*" ' +
        '"chat_template.json" --local-dir DIR); its <image> (32000) and <pad> (32001) ids are kept and ' +
        'embed_tokens gets zero rows for them.',
    );
  }
  const tokenizer = readJson(dir, 'tokenizer.json');
  const tokConfig: Json = dir.has('tokenizer_config.json') ? readJson(dir, 'tokenizer_config.json') : {};
  const files = new Map<string, Uint8Array>();
  const found = findToken(tokenizer, IMAGE_TOKEN);
  let imageTokenId: number;
  let added = false;
  if (imageTokenFixed) {
    if (found !== config.image_token_index) {
      throw new ConvertError(
        'bad-config',
        `config.json says the image token is id ${config.image_token_index} but tokenizer.json ` +
          (found === null ? 'has no <image> token' : `gives <image> id ${found}`) +
          '. Use the tokenizer files of the same model.',
      );
    }
    imageTokenId = found;
  } else if (found !== null) {
    imageTokenId = found;
  } else {
    imageTokenId = Math.max(maxTokenId(tokenizer) + 1, config.text_config.vocab_size);
    added = true;
    const entry = {
      id: imageTokenId,
      content: IMAGE_TOKEN,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    };
    tokenizer.added_tokens = [...((tokenizer.added_tokens as Json[] | undefined) ?? []), entry];
    const { id: _id, ...rest } = entry;
    tokConfig.added_tokens_decoder = {
      ...((tokConfig.added_tokens_decoder as Json | undefined) ?? {}),
      [String(imageTokenId)]: rest,
    };
    if (dir.has('added_tokens.json'))
      files.set(
        'added_tokens.json',
        jsonBytes({ ...readJson(dir, 'added_tokens.json'), [IMAGE_TOKEN]: imageTokenId }),
      );
  }
  if (
    typeof tokConfig.chat_template !== 'string' &&
    !dir.has('chat_template.json') &&
    !dir.has('chat_template.jinja')
  ) {
    // The original LLaVA repo formats prompts in Python; LLaVA-1.5 was trained on the Vicuna-v1 conversation.
    tokConfig.chat_template =
      config.text_config.model_type === 'qwen2' ? CHATML_CHAT_TEMPLATE : VICUNA_CHAT_TEMPLATE;
  }
  tokConfig.processor_class ??= 'LlavaProcessor';
  const template = chatTemplateText(dir, tokConfig);
  files.set('tokenizer.json', added ? jsonBytes(tokenizer) : dir.readBytes('tokenizer.json'));
  files.set('tokenizer_config.json', jsonBytes(tokConfig));
  if (!files.has('added_tokens.json') && dir.has('added_tokens.json'))
    files.set('added_tokens.json', dir.readBytes('added_tokens.json'));
  return {
    imageTokenId,
    added,
    maxTokenId: Math.max(maxTokenId(tokenizer), imageTokenId),
    endOfTurnIds: endOfTurnIds(tokenizer, template),
    files,
  };
}

/** The chat template as text, from tokenizer_config.json, chat_template.json or chat_template.jinja. */
function chatTemplateText(dir: SourceFolder, tokConfig: Json): string {
  const parts: string[] = [];
  if (typeof tokConfig.chat_template === 'string') parts.push(tokConfig.chat_template);
  if (dir.has('chat_template.json')) {
    const t = readJson(dir, 'chat_template.json').chat_template;
    if (typeof t === 'string') parts.push(t);
  }
  if (dir.has('chat_template.jinja')) parts.push(readText(dir, 'chat_template.jinja'));
  return parts.join('\n');
}

/**
 * Special tokens the chat template writes that close a turn: Llama-3's `<|eot_id|>`, ChatML's `<|im_end|>`,
 * Gemma's `<end_of_turn>`, Phi's `<|end|>`. A checkpoint's generation_config may list only the end-of-text id
 * (xtuner's Llama-3 LLaVA lists 128001 while turns end with 128009), and then answers would never stop.
 */
function endOfTurnIds(tokenizer: Json, template: string): number[] {
  const ids: number[] = [];
  for (const t of (tokenizer.added_tokens as Json[] | undefined) ?? []) {
    const content = t.content;
    if (typeof content !== 'string' || typeof t.id !== 'number' || t.special !== true) continue;
    if (END_OF_TURN.test(content) && template.includes(content)) ids.push(t.id);
  }
  return ids;
}

const END_OF_TURN = /^<(\|eot_id\||\|im_end\||end_of_turn|\|end\||\|eot\|)>$/;

/**
 * generation_config.json with the chat template's end-of-turn ids added to `eos_token_id` (a list when more than
 * one), so generation stops at the end of an answer. Unchanged when they are already there.
 */
export function withEndOfTurnIds(generation: Json, endOfTurn: readonly number[]): Json {
  const current = generation.eos_token_id;
  const eos = Array.isArray(current)
    ? current.filter((x): x is number => typeof x === 'number')
    : typeof current === 'number'
      ? [current]
      : [];
  const missing = endOfTurn.filter((id) => !eos.includes(id));
  if (missing.length === 0) return generation;
  return { ...generation, eos_token_id: [...eos, ...missing] };
}

/**
 * The remaining support files: copied from the tokenizer or input folder when present (the image processor also
 * from the CLIP folder), else derived from the config (CLIP/SigLIP processor settings, processor_config.json that
 * makes transformers.js expand `<image>` to exactly the encoder's feature count, generation ids from the tokenizer).
 */
export function supportFiles(
  dirs: { input: SourceFolder; tokenizer: SourceFolder; clip: SourceFolder | null },
  config: LlavaHfConfig,
  family: ConfigFamily,
  endOfTurn: readonly number[] = [],
): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  const firstOf = (name: string, from: Array<SourceFolder | null>): Uint8Array | null => {
    for (const d of from) if (d !== null && d.has(name)) return d.readBytes(name);
    return null;
  };
  for (const name of COPIED) {
    const f = firstOf(name, [dirs.tokenizer, dirs.input]);
    if (f !== null) out.set(name, f);
  }
  const pre = firstOf('preprocessor_config.json', [dirs.input, dirs.clip]);
  out.set('preprocessor_config.json', pre ?? jsonBytes(preprocessorConfigJson(config)));
  const proc = family === 'llava-hf' ? firstOf('processor_config.json', [dirs.input]) : null;
  out.set('processor_config.json', proc ?? jsonBytes(processorConfigJson(config)));
  if (!out.has('generation_config.json')) {
    const t = config.text_config;
    const eos = typeof t.eos_token_id === 'number' ? t.eos_token_id : 2;
    out.set(
      'generation_config.json',
      jsonBytes({
        _from_model_config: true,
        bos_token_id: t.bos_token_id ?? 1,
        eos_token_id: eos,
        pad_token_id: config.pad_token_id ?? t.pad_token_id ?? eos,
      }),
    );
  }
  const generation = out.get('generation_config.json') as Uint8Array;
  const parsed = JSON.parse(new TextDecoder().decode(generation)) as Json;
  const fixed = withEndOfTurnIds(parsed, endOfTurn);
  if (fixed !== parsed) out.set('generation_config.json', jsonBytes(fixed));
  return out;
}
