// Owns marking a point in a conversation that is still being written (the end of a draft's words, the start of the
// next question) so that its rendered prompt can be cut there: whatever is finally sent starts with that text. No
// tokenizer, no runtime.

import type { ChatMessage } from '../shared/protocol';

/** Stands for "the words end here" while rendering; a private-use character no one types. */
export const WORDS_END = '\uE000';

/**
 * The messages with the mark after the last user message's words (a text part added when it has none), or null
 * when the conversation does not end with a user message.
 */
export function markDraftEnd(messages: readonly ChatMessage[]): ChatMessage[] | null {
  const last = messages[messages.length - 1];
  if (!last || last.role !== 'user') return null;
  let content: ChatMessage['content'];
  if (typeof last.content === 'string') content = last.content + WORDS_END;
  else {
    const parts = [...last.content];
    const at = parts.map((p) => p.type).lastIndexOf('text');
    const part = parts[at];
    if (part && part.type === 'text') parts[at] = { ...part, text: part.text + WORDS_END };
    else parts.push({ type: 'text', text: WORDS_END });
    content = parts;
  }
  return [...messages.slice(0, -1), { ...last, content }];
}

/**
 * The rendered text before the mark, trailing whitespace left out (tokenisers glue it to the next word), or null
 * when the template dropped the mark.
 */
export function textBeforeMark(text: string): string | null {
  const cut = text.indexOf(WORDS_END);
  return cut < 0 ? null : text.slice(0, cut).trimEnd();
}
