// Owns finding saved chats by their title and the text of their messages (every version, branches included). It reads
// IndexedDB only; it never writes, and knows nothing of the UI.
import { entries, values } from 'idb-keyval';
import type { ConversationDb, StoredMessage } from './conversations';

export interface SearchHit {
  id: string;
  title: string;
  updatedAt: number;
  /** Where the words were found in a message, shortened around them; null when only the title matched. */
  snippet: string | null;
}

/** Lower case without accents, so that "cafe" finds "Café". */
function fold(text: string): string {
  return text.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

/** The words of a query, folded; empty for a blank query. */
export function queryTerms(query: string): string[] {
  return fold(query).split(/\s+/).filter(Boolean);
}

/** A stretch of `text` around its first occurrence of `term` (folded), with an ellipsis where it was cut. */
export function snippetAround(text: string, term: string, radius = 40): string | null {
  const at = fold(text).indexOf(term);
  if (at < 0) return null;
  // Folding only removes combining marks, so positions can drift by a few characters on accented text: good enough
  // for a preview, and the slice is clamped to the text.
  const start = Math.max(0, at - radius);
  const end = Math.min(text.length, at + term.length + radius);
  const flat = text.slice(start, end).replace(/\s+/g, ' ').trim();
  return `${start > 0 ? '…' : ''}${flat}${end < text.length ? '…' : ''}`;
}

interface RecordForSearch {
  id: string;
  title: string;
  updatedAt: number;
  /** Messages of records written before messages had records of their own. */
  messages?: StoredMessage[];
}

/**
 * Chats whose title and messages together contain every word of the query (any order, any case, accents ignored),
 * newest first. A blank query finds nothing.
 */
export async function searchConversations(db: ConversationDb, query: string): Promise<SearchHit[]> {
  const terms = queryTerms(query);
  if (terms.length === 0) return [];
  const records = await values<RecordForSearch>(db.conversations);
  const texts = new Map<string, string[]>(records.map((r) => [r.id, (r.messages ?? []).map((m) => m.text)]));
  for (const [key, message] of await entries<IDBValidKey, StoredMessage>(db.messages)) {
    const conversationId = String(key).split('\u0000')[0] ?? '';
    texts.get(conversationId)?.push(message.text);
  }
  const hits: SearchHit[] = [];
  for (const record of records) {
    const messages = texts.get(record.id) ?? [];
    const haystack = fold([record.title, ...messages].join('\n'));
    if (!terms.every((t) => haystack.includes(t))) continue;
    let snippet: string | null = null;
    for (const term of terms) {
      for (const text of messages) {
        snippet = snippetAround(text, term);
        if (snippet) break;
      }
      if (snippet) break;
    }
    hits.push({ id: record.id, title: record.title, updatedAt: record.updatedAt, snippet });
  }
  return hits.sort((a, b) => b.updatedAt - a.updatedAt);
}
