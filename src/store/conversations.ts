// Owns conversation persistence in IndexedDB: a small record per conversation, one record per message, image blobs
// apart, so that a streamed save writes one message, not the whole chat. It knows nothing of the UI or the engine.
import {
  createStore,
  del,
  delMany,
  entries,
  get,
  getMany,
  set,
  setMany,
  values,
  type UseStore,
} from 'idb-keyval';
import type { AnswerTokens, FinishReason, TemplateName, Usage } from '../shared/protocol';

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
  /** An answer's generated ids, sent back with it so the model reads what it wrote (also after a reload). */
  tokens?: AnswerTokens;
  /** The message this one follows (null: the first); absent on messages stored before chats had branches. */
  parentId?: string | null;
  /** When this version was last shown, for a message set aside among the branches. */
  shownAt?: number;
}

export interface Conversation {
  id: string;
  title: string;
  createdAt: number;
  updatedAt: number;
  /** The path shown and sent to the model, in order. */
  messages: StoredMessage[];
  /** Earlier versions of messages on the path (and what followed them), kept for switching back (store/branches). */
  branches?: StoredMessage[];
  systemPrompt?: string;
  template?: TemplateName;
}

export interface ConversationSummary {
  id: string;
  title: string;
  updatedAt: number;
  messageCount: number;
}

/**
 * A conversation as stored: its messages are records of their own (keyed by {@link messageKey}), listed here in order.
 * Records written before messages had their own (with `messages` inline) are still read.
 */
interface ConversationRecord extends Omit<Conversation, 'messages' | 'branches'> {
  messageIds?: string[];
  branchIds?: string[];
  messages?: StoredMessage[];
}

/** The three IndexedDB stores (separate databases: idb-keyval keeps one object store per database). */
export interface ConversationDb {
  conversations: UseStore;
  messages: UseStore;
  images: UseStore;
}

/** Opens (lazily) the app's conversation databases; `prefix` lets tests use their own. */
export function openConversationDb(prefix = 'llava-chat'): ConversationDb {
  return {
    conversations: createStore(`${prefix}-conversations`, 'conversations'),
    messages: createStore(`${prefix}-messages`, 'messages'),
    images: createStore(`${prefix}-images`, 'images'),
  };
}

/** The key of a message's record: its conversation's id, a separator no id contains, its own id. */
export function messageKey(conversationId: string, messageId: string): string {
  return `${conversationId}\u0000${messageId}`;
}

function recordOf(conversation: Conversation): ConversationRecord {
  const { messages, branches, ...rest } = conversation;
  const record: ConversationRecord = { ...rest, messageIds: messages.map((m) => m.id) };
  if (branches && branches.length > 0) record.branchIds = branches.map((m) => m.id);
  return record;
}

/** Every message of a conversation: the path shown and the branches set aside. */
export function everyMessage(conversation: Conversation): StoredMessage[] {
  return [...conversation.messages, ...(conversation.branches ?? [])];
}

/** Conversations, newest first, without their messages. */
export async function listConversations(db: ConversationDb): Promise<ConversationSummary[]> {
  const all = await values<ConversationRecord>(db.conversations);
  return all
    .map((c) => ({
      id: c.id,
      title: c.title,
      updatedAt: c.updatedAt,
      messageCount: c.messageIds?.length ?? c.messages?.length ?? 0,
    }))
    .sort((a, b) => b.updatedAt - a.updatedAt);
}

export async function getConversation(db: ConversationDb, id: string): Promise<Conversation | undefined> {
  const record = await get<ConversationRecord>(id, db.conversations);
  if (!record) return undefined;
  const { messageIds, branchIds, messages: inline, ...rest } = record;
  if (!messageIds) return { ...rest, messages: inline ?? [] };
  const read = async (ids: string[]) =>
    (
      await getMany<StoredMessage | undefined>(
        ids.map((m) => messageKey(id, m)),
        db.messages,
      )
    ).filter((m): m is StoredMessage => m !== undefined);
  const conversation: Conversation = { ...rest, messages: await read(messageIds) };
  if (branchIds && branchIds.length > 0) conversation.branches = await read(branchIds);
  return conversation;
}

/** What one save writes: the conversation's own record (when it changed), some messages, and messages removed. */
export interface ConversationChanges {
  /** The whole conversation, when its record (title, order of messages, …) must be written; else null. */
  conversation: Conversation | null;
  conversationId: string;
  messages: readonly StoredMessage[];
  removed: readonly string[];
}

/** Writes what changed; resolves once IndexedDB has committed it. A message's record is written before the list naming it. */
export async function saveChanges(db: ConversationDb, changes: ConversationChanges): Promise<void> {
  const id = changes.conversationId;
  if (changes.messages.length > 0) {
    await setMany(
      changes.messages.map((m) => [messageKey(id, m.id), m]),
      db.messages,
    );
  }
  if (changes.conversation) await set(id, recordOf(changes.conversation), db.conversations);
  if (changes.removed.length > 0)
    await delMany(
      changes.removed.map((m) => messageKey(id, m)),
      db.messages,
    );
}

/** Writes the whole conversation (its record and every message); resolves once IndexedDB has committed it. */
export async function saveConversation(db: ConversationDb, conversation: Conversation): Promise<void> {
  const before = await get<ConversationRecord>(conversation.id, db.conversations);
  const all = everyMessage(conversation);
  const kept = new Set(all.map((m) => m.id));
  await saveChanges(db, {
    conversation,
    conversationId: conversation.id,
    messages: all,
    removed: [...(before?.messageIds ?? []), ...(before?.branchIds ?? [])].filter((m) => !kept.has(m)),
  });
}

/** Rewrites a conversation stored before messages had records of their own in the current layout (else nothing). */
export async function migrateInline(db: ConversationDb, id: string): Promise<void> {
  const record = await get<ConversationRecord>(id, db.conversations);
  if (!record || record.messageIds || !record.messages) return;
  const { messages, ...rest } = record;
  await saveConversation(db, { ...rest, messages });
}

/** Deletes a conversation, its messages and the images only it referenced. */
export async function deleteConversation(db: ConversationDb, id: string): Promise<void> {
  const doomed = await getConversation(db, id);
  await del(id, db.conversations);
  if (!doomed) return;
  const doomedMessages = everyMessage(doomed);
  await delMany(
    doomedMessages.map((m) => messageKey(id, m.id)),
    db.messages,
  );
  const stillUsed = new Set<string>();
  for (const other of await values<ConversationRecord>(db.conversations)) {
    for (const m of other.messages ?? []) for (const img of m.imageIds) stillUsed.add(img);
  }
  for (const [, m] of await entries<string, StoredMessage>(db.messages)) {
    for (const img of m.imageIds) stillUsed.add(img);
  }
  const orphans = doomedMessages.flatMap((m) => m.imageIds).filter((img) => !stillUsed.has(img));
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
