// Owns the conversation list and the open conversation as reactive state, and when they are written to IndexedDB.
// Saves are serialized and write only what changed (a streamed token rewrites its one message, not the chat); text
// streamed into an answer is shown only after it was committed, so a reload or crash keeps everything up to the last
// token on screen. It never calls the engine.
import { createSignal } from 'solid-js';
import { createStore, produce, reconcile, unwrap } from 'solid-js/store';
import {
  deleteConversation,
  everyMessage,
  getConversation,
  getImages,
  listConversations,
  markInterrupted,
  migrateInline,
  openConversationDb,
  putImage,
  saveChanges,
  saveConversation,
  titleFrom,
  type Conversation,
  type ConversationDb,
  type ConversationSummary,
  type StoredImage,
  type StoredMessage,
} from '../../store/conversations';
import {
  exportJson,
  exportMarkdown,
  parseExport,
  type MarkdownExport,
} from '../../store/conversations-export';
import { searchConversations, type SearchHit } from '../../store/conversation-search';
import { newId } from '../lib/ids';
import { storeContext } from './store-context';

export interface ImageView {
  id: string;
  name: string;
  url: string;
  width: number;
  height: number;
}

function blank(): Conversation {
  const now = Date.now();
  return { id: newId('c'), title: 'New chat', createdAt: now, updatedAt: now, messages: [] };
}

export function createConversationsStore(db: ConversationDb = openConversationDb()) {
  const [list, setList] = createSignal<ConversationSummary[]>([]);
  const [current, setCurrent] = createStore<Conversation>(blank());
  /** True once the open conversation exists in IndexedDB (a new chat is saved with its first message). */
  const [persisted, setPersisted] = createSignal(false);
  const [ready, setReady] = createSignal(false);

  // Text streamed into answers but not yet committed; it overlays the shown text in every snapshot.
  const streaming = new Map<string, string>();
  const images = new Map<string, ImageView & { blob: Blob }>();

  function snapshot(): Conversation {
    const conv = structuredClone(unwrap(current)) as Conversation;
    for (const m of conv.messages) {
      const text = streaming.get(m.id);
      if (text !== undefined) m.text = text;
    }
    return conv;
  }

  function summarize(conv: Conversation): void {
    const summary = {
      id: conv.id,
      title: conv.title,
      updatedAt: conv.updatedAt,
      messageCount: conv.messages.length,
    };
    setList((old) =>
      [summary, ...old.filter((s) => s.id !== conv.id)].sort((a, b) => b.updatedAt - a.updatedAt),
    );
  }

  let running: Promise<void> | null = null;
  let dirty = false;
  // What the next save must write for the open conversation: some messages, and maybe its own record.
  let pendingMessages = new Set<string>();
  let pendingRecord = false;
  // Message ids in the open conversation's stored record, so that a save can delete the ones no longer there.
  let storedIds: string[] = [];

  function messageSnapshot(id: string): StoredMessage | undefined {
    const m = everyMessage(unwrap(current)).find((x) => x.id === id);
    if (!m) return undefined;
    const copy = structuredClone(m) as StoredMessage;
    const text = streaming.get(id);
    if (text !== undefined) copy.text = text;
    return copy;
  }

  async function saveLoop(): Promise<void> {
    try {
      while (dirty) {
        dirty = false;
        const id = current.id;
        const messages = [...pendingMessages]
          .map(messageSnapshot)
          .filter((m): m is StoredMessage => m !== undefined);
        const writeRecord = pendingRecord;
        pendingMessages = new Set();
        pendingRecord = false;
        const ids = everyMessage(unwrap(current)).map((m) => m.id);
        const kept = new Set(ids);
        const conversation = writeRecord
          ? { ...unwrap(current), messages: [...unwrap(current).messages] }
          : null;
        await saveChanges(db, {
          conversation,
          conversationId: id,
          messages,
          removed: writeRecord ? storedIds.filter((m) => !kept.has(m)) : [],
        });
        if (writeRecord) storedIds = ids;
        setPersisted(true);
        if (id !== current.id) continue;
        // Show what is now safely stored, no more.
        setCurrent(
          produce((c) => {
            for (const saved of messages) {
              const m = c.messages.find((x) => x.id === saved.id);
              if (m && streaming.has(m.id)) m.text = saved.text;
            }
          }),
        );
      }
    } finally {
      running = null;
    }
  }

  /** Writes what changed in the open conversation; resolves when everything asked for so far is committed. */
  function save(messageIds: Iterable<string>, record: boolean): Promise<void> {
    for (const m of messageIds) pendingMessages.add(m);
    pendingRecord ||= record;
    dirty = true;
    running ??= saveLoop();
    return running;
  }

  /**
   * Changes the open conversation and saves it: its record (title, order of messages), and the messages `fn` added
   * or changed (found by comparing them before and after, unless `touched` names them).
   */
  function change(fn: (draft: Conversation) => void, touched?: readonly string[]): Promise<void> {
    const before = touched
      ? null
      : new Map(everyMessage(unwrap(current)).map((m) => [m.id, JSON.stringify(m)] as const));
    setCurrent(
      produce((c) => {
        fn(c);
        c.updatedAt = Date.now();
      }),
    );
    summarize(current);
    const changed =
      touched ??
      everyMessage(unwrap(current))
        .filter((m) => before?.get(m.id) !== JSON.stringify(m))
        .map((m) => m.id);
    return save(changed, true);
  }

  /** Queues streamed text for a message; it appears on screen once stored. */
  function streamText(messageId: string, text: string): Promise<void> {
    streaming.set(messageId, text);
    return save([messageId], false);
  }

  /** Ends streaming for a message: its final fields are applied and stored. */
  async function endStream(messageId: string, fn: (draft: Conversation) => void): Promise<void> {
    const text = streaming.get(messageId);
    streaming.delete(messageId);
    await change((c) => {
      const m = c.messages.find((x) => x.id === messageId);
      if (m && text !== undefined) m.text = text;
      fn(c);
    });
  }

  async function refreshList(): Promise<void> {
    setList(await listConversations(db));
  }

  async function open(id: string): Promise<void> {
    await migrateInline(db, id);
    const found = await getConversation(db, id);
    if (!found) throw new Error('That conversation no longer exists.');
    const { conversation, changed } = markInterrupted(found);
    streaming.clear();
    pendingMessages = new Set();
    pendingRecord = false;
    storedIds = everyMessage(found).map((m) => m.id);
    setCurrent(reconcile(conversation));
    setPersisted(true);
    if (changed)
      await save(
        conversation.messages.map((m) => m.id),
        true,
      );
  }

  function startNew(): void {
    streaming.clear();
    pendingMessages = new Set();
    pendingRecord = false;
    storedIds = [];
    setCurrent(reconcile(blank()));
    setPersisted(false);
  }

  /** Loads the list and reopens the most recent conversation (so a reload shows what was there). */
  async function init(): Promise<void> {
    await refreshList();
    const latest = list()[0];
    if (latest) await open(latest.id);
    setReady(true);
  }

  async function rename(id: string, title: string): Promise<void> {
    const clean = title.trim().slice(0, 120) || 'Untitled';
    if (id === current.id) {
      await change((c) => {
        c.title = clean;
      });
      return;
    }
    const conv = await getConversation(db, id);
    if (!conv) return;
    await saveConversation(db, { ...conv, title: clean });
    await refreshList();
  }

  async function remove(id: string): Promise<void> {
    await deleteConversation(db, id);
    setList((old) => old.filter((s) => s.id !== id));
    if (id === current.id) startNew();
  }

  /** Stores pictures and returns their ids. */
  async function addImages(items: Omit<StoredImage, 'id'>[]): Promise<string[]> {
    const ids: string[] = [];
    for (const item of items) {
      const img: StoredImage = { ...item, id: newId('img') };
      await putImage(db, img);
      images.set(img.id, { ...img, url: URL.createObjectURL(img.blob) });
      ids.push(img.id);
    }
    return ids;
  }

  /** Pictures for display or for the engine; loaded from IndexedDB once, then kept as object URLs. */
  async function imageViews(ids: readonly string[]): Promise<(ImageView & { blob: Blob })[]> {
    const missing = ids.filter((id) => !images.has(id));
    for (const img of await getImages(db, missing))
      images.set(img.id, { ...img, url: URL.createObjectURL(img.blob) });
    return ids.map((id) => images.get(id)).filter((x): x is ImageView & { blob: Blob } => x !== undefined);
  }

  /** A conversation as stored, the open one with what is still streaming into it. */
  async function readConversation(id: string): Promise<Conversation> {
    const conv = id === current.id ? snapshot() : await getConversation(db, id);
    if (!conv) throw new Error('That conversation no longer exists.');
    return conv;
  }

  const imagesOf = (convs: Conversation[]) =>
    getImages(db, [...new Set(convs.flatMap((c) => everyMessage(c).flatMap((m) => m.imageIds)))]);

  /** A file name from a chat's title (letters, digits, dashes). */
  const baseName = (conv: Conversation) =>
    conv.title
      .replace(/[^\w\- ]+/g, '')
      .trim()
      .replace(/\s+/g, '-')
      .slice(0, 40) || 'conversation';

  /** One chat as a JSON export file (every branch and picture in it). */
  async function exportConversation(id: string): Promise<{ name: string; blob: Blob }> {
    const conv = await readConversation(id);
    return {
      name: `${baseName(conv)}.json`,
      blob: new Blob([await exportJson([conv], await imagesOf([conv]))], { type: 'application/json' }),
    };
  }

  /** Every saved chat in one JSON export file, for a backup or another browser. */
  async function exportAll(): Promise<{ name: string; blob: Blob; count: number }> {
    const ids = (await listConversations(db)).map((s) => s.id);
    if (persisted() && !ids.includes(current.id)) ids.unshift(current.id);
    const convs: Conversation[] = [];
    for (const id of ids) {
      const conv = id === current.id ? snapshot() : await getConversation(db, id);
      if (conv) convs.push(conv);
    }
    const day = new Date().toISOString().slice(0, 10);
    return {
      name: `llava-chats-${day}.json`,
      blob: new Blob([await exportJson(convs, await imagesOf(convs))], { type: 'application/json' }),
      count: convs.length,
    };
  }

  /** One chat as Markdown whose pictures are separate files under `prefix` ("images/" in a folder). */
  async function exportMarkdownFiles(
    id: string,
    prefix?: (base: string) => string,
  ): Promise<{ base: string } & MarkdownExport> {
    const conv = await readConversation(id);
    const base = baseName(conv);
    return { base, ...exportMarkdown(conv, await imagesOf([conv]), prefix ? prefix(base) : 'images/') };
  }

  /**
   * Imports an exported file (one chat or all of them) next to the chats already here: a chat whose id is taken by a
   * different one gets a new id; one already here unchanged (same title, same last change) is skipped. The whole file is
   * checked before anything is written, so a bad file changes nothing.
   */
  async function importFile(file: Blob): Promise<{ imported: number; alreadyHere: number }> {
    const { conversations, images: imgs } = parseExport(await file.text());
    const summaries = await listConversations(db);
    const stored = new Set(summaries.map((s) => s.id));
    // A chat imported before keeps its title and last change, also when it had to take a new id.
    const copies = new Set(summaries.map((s) => `${s.updatedAt}\u0000${s.title}`));
    const fresh = conversations.filter((c) => !copies.has(`${c.updatedAt}\u0000${c.title}`));
    const wanted = new Set(fresh.flatMap((c) => everyMessage(c).flatMap((m) => m.imageIds)));
    const imageIds = new Map<string, string>();
    for (const img of imgs) {
      if (!wanted.has(img.id) || imageIds.has(img.id)) continue;
      const id = newId('img');
      imageIds.set(img.id, id);
      await putImage(db, { ...img, id });
    }
    let lastId: string | undefined;
    for (const conv of fresh) {
      const remap = (m: StoredMessage): StoredMessage => ({
        ...m,
        imageIds: m.imageIds.map((i) => imageIds.get(i)).filter((i): i is string => !!i),
      });
      const copy: Conversation = {
        ...conv,
        id: stored.has(conv.id) ? newId('c') : conv.id,
        messages: conv.messages.map(remap),
      };
      if (conv.branches) copy.branches = conv.branches.map(remap);
      await saveConversation(db, copy);
      lastId = copy.id;
    }
    await refreshList();
    if (lastId) await open(lastId);
    return { imported: fresh.length, alreadyHere: conversations.length - fresh.length };
  }

  /** Saved chats whose title or messages contain every word of `query`. */
  const search = (query: string): Promise<SearchHit[]> => searchConversations(db, query);

  return {
    list,
    current,
    persisted,
    ready,
    init,
    open,
    startNew,
    change,
    streamText,
    endStream,
    rename,
    remove,
    addImages,
    imageViews,
    exportConversation,
    exportAll,
    exportMarkdownFiles,
    importFile,
    search,
    titleFrom,
  };
}

export type ConversationsStore = ReturnType<typeof createConversationsStore>;

export const [ConversationsContext, useConversations] = storeContext<ConversationsStore>(
  'useConversations',
  'ConversationsContext',
);
