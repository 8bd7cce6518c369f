// Branches: an edited question or a regenerated answer keeps the earlier version (and what followed it) as a sibling;
// switching restores the conversation below it as it was; the tree survives IndexedDB and export/import.
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { parentOf, setAside, showSibling, siblingsOf } from '../../src/store/branches';
import {
  getConversation,
  openConversationDb,
  saveConversation,
  type Conversation,
  type StoredMessage,
} from '../../src/store/conversations';
import { exportJson, parseExport } from '../../src/store/conversations-export';

const msg = (id: string, role: 'user' | 'assistant', parentId: string | null, at: number): StoredMessage => ({
  id,
  role,
  text: `text of ${id}`,
  imageIds: [],
  createdAt: at,
  parentId,
});

/** q1 → a1 → q2 → a2, the first two written before messages had parents. */
function chat(): Conversation {
  const q1 = msg('q1', 'user', null, 1);
  const a1 = msg('a1', 'assistant', 'q1', 2);
  delete q1.parentId;
  delete a1.parentId;
  return {
    id: 'c',
    title: 'Chat',
    createdAt: 1,
    updatedAt: 1,
    messages: [q1, a1, msg('q2', 'user', 'a1', 3), msg('a2', 'assistant', 'q2', 4)],
  };
}

const path = (c: Conversation) => c.messages.map((m) => m.id);

describe('conversation branches', () => {
  it('editing a question keeps the old one and its answers as a sibling; switching restores them', () => {
    const c = chat();
    // Edit q2: set aside from q2 on, then the new question and its answer.
    setAside(c, 2, 10);
    c.messages.push(msg('q2b', 'user', 'a1', 11), msg('a2b', 'assistant', 'q2b', 12));
    expect(path(c)).toEqual(['q1', 'a1', 'q2b', 'a2b']);
    expect(siblingsOf(c, 'q2b')).toEqual({ ids: ['q2', 'q2b'], index: 1 });
    expect(siblingsOf(c, 'a2b')).toEqual({ ids: ['a2b'], index: 0 });
    showSibling(c, 'q2', 20);
    expect(path(c)).toEqual(['q1', 'a1', 'q2', 'a2']);
    expect(c.branches?.map((m) => m.id).sort()).toEqual(['a2b', 'q2b']);
    showSibling(c, 'q2b', 30);
    expect(path(c)).toEqual(['q1', 'a1', 'q2b', 'a2b']);
  });

  it('regenerating keeps the earlier answer; older messages without parents get theirs when set aside', () => {
    const c = chat();
    setAside(c, 1, 10);
    c.messages.push(msg('a1b', 'assistant', 'q1', 11));
    expect(c.branches?.find((m) => m.id === 'a1')?.parentId).toBe('q1');
    expect(parentOf(c, c.messages[0] as StoredMessage)).toBeNull();
    expect(siblingsOf(c, 'a1b')).toEqual({ ids: ['a1', 'a1b'], index: 1 });
    // Back to the first answer: the follow-up that came after it comes back too.
    showSibling(c, 'a1', 20);
    expect(path(c)).toEqual(['q1', 'a1', 'q2', 'a2']);
  });

  it('brings back the continuation shown last when a version has several', () => {
    const c = chat();
    setAside(c, 3, 10); // regenerate a2
    c.messages.push(msg('a2b', 'assistant', 'q2', 11));
    setAside(c, 2, 20); // edit q2
    c.messages.push(msg('q2c', 'user', 'a1', 21), msg('a2c', 'assistant', 'q2c', 22));
    showSibling(c, 'q2', 30);
    // a2b was on the path with q2 when it was set aside, after a2 was.
    expect(path(c)).toEqual(['q1', 'a1', 'q2', 'a2b']);
    expect(showSibling(c, 'nope', 40)).toBeNull();
  });

  it('keeps the tree in IndexedDB and through export and import', async () => {
    const c = chat();
    setAside(c, 2, 10);
    c.messages.push(msg('q2b', 'user', 'a1', 11), msg('a2b', 'assistant', 'q2b', 12));
    const db = openConversationDb('branches-test');
    await saveConversation(db, c);
    const stored = await getConversation(db, 'c');
    expect(stored && path(stored)).toEqual(['q1', 'a1', 'q2b', 'a2b']);
    expect(stored?.branches?.map((m) => m.id)).toEqual(['q2', 'a2']);
    const parsed = parseExport(await exportJson([c], [])).conversations[0] as Conversation;
    expect(path(parsed)).toEqual(['q1', 'a1', 'q2b', 'a2b']);
    expect(parsed.branches).toEqual(c.branches);
    showSibling(parsed, 'q2', 20);
    expect(path(parsed)).toEqual(['q1', 'a1', 'q2', 'a2']);
  });
});
