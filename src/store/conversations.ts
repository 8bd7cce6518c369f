// Owns conversation persistence in IndexedDB (records + image blobs). It knows nothing of the UI or the engine.
import { createStore, del, delMany, get, getMany, set, values, type UseStore } from 'idb-keyval';
import type { FinishReason, TemplateName, Usage } from '../shared/protocol';

/** One stored picture, kept apart from the conversation record so that streaming writes stay small. */
export interface StoredImage {
  id: string;
  /** Original file name, shown to the user and used in messages about the file. */
  name: string;
  /** The (possibly downscaled) picture the engine receives. */
  blob: Blob;
  width: number;
  height: number;
}

/** Where an assistant answer stands; 'interrupted' means the page went away while it streamed. */
export type MessageStatus = 'streaming' | 'done' | 'stopped' | 'error' | 'interrupted';

export interface StoredMessage {
  id: string;
  role: 'user' | 'assistant';
  text: string;
  imageIds: string[];
  createdAt: number;
  status?: MessageStatus;
  usage?: Usage;
  finishReason?: FinishReason;
  error?: { code: string; message: string };
  modelId?: string;
}

export interface Conversation {
  id: string;
  title: string;
  createdAt: number;
  updatedAt: number;
  messages: StoredMessage[];
  systemPrompt?: string;
  template?: TemplateName;
}

export interface ConversationSummary {
  id: string;
  title: string;
  updatedAt: number;
  messageCount: number;
}

/** The two IndexedDB stores (separate databases: idb-keyval keeps one object store per database). */
export interface ConversationDb {
  conversations: UseStore;
  images: UseStore;
}

/** Opens (lazily) the app's conversation databases; `prefix` lets tests use their own. */
export function openConversationDb(prefix = 'llava-chat'): ConversationDb {
  return {
    conversations: createStore(`${prefix}-conversations`, 'conversations'),
    images: createStore(`${prefix}-images`, 'images'),
  };
}

/** Conversations, newest first, without their messages' text. */
export async function listConversations(db: ConversationDb): Promise<ConversationSummary[]> {
  const all = await values<Conversation>(db.conversations);
  return all
    .map((c) => ({ id: c.id, title: c.title, updatedAt: c.updatedAt, messageCount: c.messages.length }))
    .sort((a, b) => b.updatedAt - a.updatedAt);
}

export function getConversation(db: ConversationDb, id: string): Promise<Conversation | undefined> {
  return get<Conversation>(id, db.conversations);
}

/** Writes the whole record; resolves once IndexedDB has committed it. */
export function saveConversation(db: ConversationDb, conversation: Conversation): Promise<void> {
  return set(conversation.id, conversation, db.conversations);
}

/** Deletes a conversation and the images only it referenced. */
export async function deleteConversation(db: ConversationDb, id: string): Promise<void> {
  const doomed = await getConversation(db, id);
  await del(id, db.conversations);
  if (!doomed) return;
  const stillUsed = new Set<string>();
  for (const other of await values<Conversation>(db.conversations)) {
    for (const m of other.messages) for (const img of m.imageIds) stillUsed.add(img);
  }
  const orphans = doomed.messages.flatMap((m) => m.imageIds).filter((img) => !stillUsed.has(img));
  if (orphans.length > 0) await delMany(orphans, db.images);
}

export function putImage(db: ConversationDb, image: StoredImage): Promise<void> {
  return set(image.id, image, db.images);
}

/** Images by id, in order; missing ones are left out. */
export async function getImages(db: ConversationDb, ids: readonly string[]): Promise<StoredImage[]> {
  if (ids.length === 0) return [];
  const found = await getMany<StoredImage>([...ids], db.images);
  return found.filter((x): x is StoredImage => x !== undefined);
}

/**
 * Marks answers that were still streaming when the page went away, so they show as interrupted
 * (their text is kept up to the last token that was shown).
 */
export function markInterrupted(conversation: Conversation): {
  conversation: Conversation;
  changed: boolean;
} {
  let changed = false;
  const messages = conversation.messages.map((m) => {
    if (m.status !== 'streaming') return m;
    changed = true;
    return { ...m, status: 'interrupted' as const };
  });
  return { conversation: changed ? { ...conversation, messages } : conversation, changed };
}

/** A short title from the first user message. */
export function titleFrom(text: string, fallback = 'New chat'): string {
  const line = text.trim().split('\n')[0]?.trim() ?? '';
  if (line === '') return fallback;
  return line.length > 60 ? `${line.slice(0, 57)}…` : line;
}
