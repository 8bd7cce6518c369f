// Saves write what changed: messages are records of their own, so a streamed token rewrites one message, and the
// bytes a streamed save writes do not grow with the chat (measured on the app's own conversations store over
// fake-indexeddb, counting what reaches IndexedDB's put). Chats stored in the older one-record layout still open.
import 'fake-indexeddb/auto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { set } from 'idb-keyval';
import {
  getConversation,
  listConversations,
  openConversationDb,
  type StoredMessage,
} from '../../src/store/conversations';
import { createConversationsStore } from '../../src/ui/stores/conversations-store';

let dbCount = 0;
const freshDb = () => openConversationDb(`saves-${++dbCount}`);

/** Bytes (as JSON) of every value put into IndexedDB while counting is on. */
const written = { bytes: 0, puts: 0 };
const realPut = IDBObjectStore.prototype.put;
beforeEach(() => {
  IDBObjectStore.prototype.put = function (this: IDBObjectStore, value: unknown, key?: IDBValidKey) {
    written.bytes += JSON.stringify(value).length;
    written.puts++;
    return realPut.call(this, value, key);
  };
});
afterEach(() => {
  IDBObjectStore.prototype.put = realPut;
});

const message = (role: 'user' | 'assistant', i: number): StoredMessage => ({
  id: `m${role[0]}${i}`,
  role,
  text: `${role} message ${i} `.padEnd(500, 'x'),
  imageIds: [],
  createdAt: i,
  status: 'done',
});

/** Bytes written by one streamed save of the last answer in a chat of `turns` questions and answers. */
async function streamedSaveBytes(turns: number): Promise<{ bytes: number; puts: number }> {
  const db = freshDb();
  const store = createConversationsStore(db);
  await store.change((c) => {
    for (let i = 0; i < turns; i++) c.messages.push(message('user', i), message('assistant', i));
    c.messages.push({ ...message('assistant', turns), text: '', status: 'streaming' });
  });
  const answerId = `ma${turns}`;
  await store.streamText(answerId, 'The answer so far');
  written.bytes = 0;
  written.puts = 0;
  await store.streamText(answerId, 'The answer so far, and one more token');
  const result = { ...written };
  const stored = await getConversation(db, store.current.id);
  expect(stored?.messages).toHaveLength(2 * turns + 1);
  expect(stored?.messages.at(-1)?.text).toBe('The answer so far, and one more token');
  return result;
}

describe('conversation saves', () => {
  it('a streamed save writes one message, as many bytes after 200 turns as after 1', async () => {
    const short = await streamedSaveBytes(1);
    const long = await streamedSaveBytes(200);
    expect(long.puts).toBe(1);
    // Only the message's own id and createdAt are longer ("ma200" vs "ma1").
    expect(long.bytes - short.bytes).toBeLessThanOrEqual(8);
    expect(long.bytes).toBeLessThan(400);
  });

  it('ending an answer writes that message and the small conversation record, not every message', async () => {
    const db = freshDb();
    const store = createConversationsStore(db);
    await store.change((c) => {
      for (let i = 0; i < 100; i++) c.messages.push(message('user', i), message('assistant', i));
      c.messages.push({ ...message('assistant', 100), text: '', status: 'streaming' });
    });
    written.bytes = 0;
    written.puts = 0;
    await store.endStream('ma100', (c) => {
      const m = c.messages.at(-1);
      if (m) m.status = 'done';
    });
    expect(written.puts).toBe(2);
    // The record lists 201 ids (about 6 bytes each); no message text but the last answer's.
    expect(written.bytes).toBeLessThan(3000);
  });

  it('opens a chat stored in the older one-record layout and rewrites it as message records', async () => {
    const db = freshDb();
    const legacy = {
      id: 'old',
      title: 'Old chat',
      createdAt: 1,
      updatedAt: 2,
      messages: [message('user', 0), message('assistant', 0)],
    };
    await set('old', legacy, db.conversations);
    expect((await listConversations(db))[0]?.messageCount).toBe(2);
    const store = createConversationsStore(db);
    await store.open('old');
    expect(store.current.messages.map((m) => m.id)).toEqual(['mu0', 'ma0']);
    expect((await getConversation(db, 'old'))?.messages.map((m) => m.text)).toEqual(
      legacy.messages.map((m) => m.text),
    );
    // A regenerate removes the old answer's record.
    await store.change((c) => {
      c.messages.splice(1, 1, { ...message('assistant', 1), text: 'new' });
    });
    expect((await getConversation(db, 'old'))?.messages.map((m) => m.id)).toEqual(['mu0', 'ma1']);
  });
});
