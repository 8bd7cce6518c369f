// Finding and moving many chats at once, on the app's own conversations store over fake-indexeddb: search by title
// and by message text (branches included, accents and case ignored), export of every chat in one file, and import of
// that file next to the chats already here (nothing lost, nothing doubled; a bad file writes nothing).
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { createRoot } from 'solid-js';
import {
  getConversation,
  getImages,
  listConversations,
  openConversationDb,
  putImage,
  saveConversation,
  type Conversation,
} from '../../src/store/conversations';
import { searchConversations, snippetAround } from '../../src/store/conversation-search';
import { createConversationsStore } from '../../src/ui/stores/conversations-store';

let dbCount = 0;
const freshDb = () => openConversationDb(`library-${++dbCount}`);
const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 9, 8, 7]);

function chat(
  id: string,
  title: string,
  texts: string[],
  updatedAt: number,
  imageIds: string[] = [],
): Conversation {
  return {
    id,
    title,
    createdAt: updatedAt,
    updatedAt,
    messages: texts.map((text, i) => ({
      id: `${id}-${i}`,
      role: i % 2 === 0 ? 'user' : 'assistant',
      text,
      imageIds: i === 0 ? imageIds : [],
      createdAt: updatedAt + i,
      parentId: i === 0 ? null : `${id}-${i - 1}`,
    })),
  };
}

const store = (db = freshDb()) => createRoot(() => createConversationsStore(db));

describe('chat search', () => {
  it('finds chats by title and by message text, every word anywhere, accents and case ignored', async () => {
    const db = freshDb();
    await saveConversation(db, chat('a', 'Cats on a sofa', ['What is this?', 'Two cats asleep.'], 1));
    await saveConversation(db, chat('b', 'Street at night', ['Describe it', 'A red Café sign glows.'], 2));
    const branched = chat('c', 'Untitled', ['First try', 'An answer'], 3);
    branched.branches = [
      { id: 'c-old', role: 'assistant', text: 'An older zebra answer', imageIds: [], createdAt: 3 },
    ];
    await saveConversation(db, branched);

    expect((await searchConversations(db, 'SOFA')).map((h) => h.id)).toEqual(['a']);
    const cafe = await searchConversations(db, 'cafe red');
    expect(cafe.map((h) => h.id)).toEqual(['b']);
    expect(cafe[0]?.snippet).toBe('A red Café sign glows.');
    // A word only in an earlier version still finds its chat.
    expect((await searchConversations(db, 'zebra')).map((h) => h.id)).toEqual(['c']);
    // Every word must be there; a blank query finds nothing.
    expect(await searchConversations(db, 'cats night')).toEqual([]);
    expect(await searchConversations(db, '   ')).toEqual([]);
    // Newest first.
    expect((await searchConversations(db, 'a')).map((h) => h.id)).toEqual(['c', 'b', 'a']);
  });

  it('shortens long text around the match', () => {
    const text = `${'x '.repeat(100)}needle${' y'.repeat(100)}`;
    const s = snippetAround(text, 'needle', 10) ?? '';
    expect(s.startsWith('…')).toBe(true);
    expect(s.endsWith('…')).toBe(true);
    expect(s).toContain('needle');
    expect(s.length).toBeLessThan(30);
  });
});

describe('export and import of every chat', () => {
  it('exports all chats with pictures and branches, and imports them next to existing chats without doubles', async () => {
    const source = freshDb();
    await putImage(source, {
      id: 'img1',
      name: 'p.png',
      width: 2,
      height: 2,
      blob: new Blob([png], { type: 'image/png' }),
    });
    const withBranch = chat('one', 'With a picture', ['What?', 'A square.'], 10, ['img1']);
    withBranch.branches = [
      {
        id: 'one-old',
        role: 'assistant',
        text: 'An earlier answer',
        imageIds: [],
        createdAt: 10,
        parentId: 'one-0',
        shownAt: 5,
      },
    ];
    await saveConversation(source, withBranch);
    await saveConversation(source, chat('two', 'Plain', ['Hi', 'Hello'], 20));
    const from = store(source);
    await from.init();
    const file = await from.exportAll();
    expect(file.count).toBe(2);
    expect(file.name).toMatch(/^llava-chats-\d{4}-\d{2}-\d{2}\.json$/);

    const target = freshDb();
    await saveConversation(target, chat('mine', 'Already here', ['Keep me', 'Kept'], 5));
    // Same id as an exported chat but a different chat: both must survive.
    await saveConversation(target, chat('two', 'Another chat with a taken id', ['Other', 'Other answer'], 7));
    const into = store(target);
    await into.init();
    expect(await into.importFile(file.blob)).toEqual({ imported: 2, alreadyHere: 0 });
    const titles = (await listConversations(target)).map((s) => s.title).sort();
    expect(titles).toEqual(['Already here', 'Another chat with a taken id', 'Plain', 'With a picture']);
    const imported = await getConversation(target, 'one');
    expect(imported?.branches?.map((m) => m.text)).toEqual(['An earlier answer']);
    const pictureId = imported?.messages[0]?.imageIds[0] ?? '';
    const [picture] = await getImages(target, [pictureId]);
    expect(new Uint8Array(await picture!.blob.arrayBuffer())).toEqual(png);

    // The same file again adds nothing.
    expect(await into.importFile(file.blob)).toEqual({ imported: 0, alreadyHere: 2 });
    expect(await listConversations(target)).toHaveLength(4);
  });

  it('refuses a broken file before writing anything', async () => {
    const db = freshDb();
    await saveConversation(db, chat('mine', 'Keep me', ['Hi', 'Hello'], 5));
    const s = store(db);
    await s.init();
    const good = JSON.parse(await (await s.exportAll()).blob.text()) as { conversations: unknown[] };
    // A second chat that is damaged: the first, valid one must not be imported alone.
    good.conversations.push({ id: 'x', title: 'Broken', messages: [{ role: 'robot' }] });
    (good.conversations[0] as { id: string }).id = 'new-id';
    await expect(s.importFile(new Blob([JSON.stringify(good)]))).rejects.toThrow(/Conversation 2/);
    await expect(s.importFile(new Blob(['{"not": "an export"']))).rejects.toThrow(/not valid JSON/);
    expect((await listConversations(db)).map((c) => c.id)).toEqual(['mine']);
  });
});
