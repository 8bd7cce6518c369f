// Owns rebuilding the builder's tokenizer description from a tokenizer.json it wrote, as pure data (no I/O), so both
// the Node fixture loader and the browser's training worker can use the committed micro model's tokenizer.

import type { BuiltTokenizer, TokenizerJson } from '../modelgen/llava/tokenizer-json';

/** Rebuilds the builder's tokenizer description from a tokenizer.json it wrote (Llama flavour). */
export function builtTokenizerFromJson(json: TokenizerJson): BuiltTokenizer {
  const tokens: string[] = [];
  for (const [t, id] of Object.entries(json.model.vocab)) tokens[id] = t;
  for (const a of json.added_tokens) tokens[a.id] = a.content;
  const idOf = (content: string): number => {
    const a = json.added_tokens.find((t) => t.content === content);
    if (!a) throw new Error(`tokenizer has no ${content} token`);
    return a.id;
  };
  return {
    family: 'llama',
    json,
    tokens,
    ids: {
      unk: idOf('<unk>'),
      bos: idOf('<s>'),
      eos: idOf('</s>'),
      image: idOf('<image>'),
      pad: idOf('<pad>'),
    },
    special: { bos: '<s>', eos: '</s>', unk: '<unk>', pad: '<pad>', image: '<image>' },
    learnedMerges: json.model.merges.length,
  };
}
