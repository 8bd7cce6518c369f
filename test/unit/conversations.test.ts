// Conversation persistence (IndexedDB via fake-indexeddb) and the export formats: list order, deleting a
// conversation drops only the images no other one uses, interrupted answers are marked, JSON round-trips with
// images as data URLs, and hostile or broken import files are refused with a message naming the problem.
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import {
  deleteConversation,
  getConversation,
  getImages,
  listConversations,
  markInterrupted,
  openConversationDb,
  putImage,
  saveConversation,
  titleFrom,
  type Conversation,
} from '../../src/store/conversations';
import {
  exportJson,
  exportMarkdown,
  ImportFormatError,
  parseExport,
  dataUrlToBlob,
} from '../../src/store/conversations-export';

let dbCount = 0;
const freshDb = () => openConversationDb(`test-${++dbCount}`);

function conversation(id: string, updatedAt: number, imageIds: string[] = []): Conversation {
  return {
    id,
    title: `Chat ${id}`,
    createdAt: updatedAt,
    updatedAt,
    messages: [
      { id: `${id}-u`, role: 'user', text: 'What is this?', imageIds, createdAt: updatedAt },
      {
        id: `${id}-a`,
        role: 'assistant',
        text: 'A **square**.',
        imageIds: [],
        createdAt: updatedAt,
        status: 'done',
      },
    ],
  };
}

const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3, 250, 251, 252]);

describe('conversation store', () => {
  it('lists conversations newest first', async () => {
    const db = freshDb();
    await saveConversation(db, conversation('a', 1));
    await saveConversation(db, conversation('b', 3));
    await saveConversation(db, conversation('c', 2));
    expect((await listConversations(db)).map((s) => s.id)).toEqual(['b', 'c', 'a']);
    expect((await listConversations(db))[0]).toEqual({
      id: 'b',
      title: 'Chat b',
      updatedAt: 3,
      messageCount: 2,
    });
  });

  it('deletes a conversation and only the images nothing else references', async () => {
    const db = freshDb();
    for (const id of ['shared', 'mine'])
      await putImage(db, {
        id,
        name: `${id}.png`,
        blob: new Blob([png], { type: 'image/png' }),
        width: 1,
        height: 1,
      });
    await saveConversation(db, conversation('a', 1, ['shared', 'mine']));
    await saveConversation(db, conversation('b', 2, ['shared']));
    await deleteConversation(db, 'a');
    expect(await getConversation(db, 'a')).toBeUndefined();
    expect((await getImages(db, ['shared', 'mine'])).map((i) => i.id)).toEqual(['shared']);
  });

  it('marks answers that were streaming as interrupted, keeping their text', () => {
    const c = conversation('x', 1);
    c.messages[1] = { ...c.messages[1]!, status: 'streaming', text: 'partial answ' };
    const { conversation: marked, changed } = markInterrupted(c);
    expect(changed).toBe(true);
    expect(marked.messages[1]).toMatchObject({ status: 'interrupted', text: 'partial answ' });
    expect(markInterrupted(marked).changed).toBe(false);
  });

  it('makes titles from the first line of the first message', () => {
    expect(titleFrom('  Describe this\nin detail')).toBe('Describe this');
    expect(titleFrom('', 'photo.png')).toBe('photo.png');
    expect(titleFrom('x'.repeat(100))).toHaveLength(58);
  });
});

describe('export and import', () => {
  it('round-trips a conversation with its images through JSON', async () => {
    const c = conversation('r', 5, ['img1']);
    // An answer's generated ids and its full usage go with it, so an imported chat continues like the original.
    c.messages[1]!.tokens = { model: 'tiny-llava-random', ids: [5, 17, 2] };
    c.messages[1]!.usage = {
      promptTokens: 40,
      completionTokens: 3,
      timeToFirstTokenMs: 12,
      decodeTokensPerS: 30,
      reusedPromptTokens: 30,
      contextLength: 512,
      maxNewTokens: 472,
    };
    const image = {
      id: 'img1',
      name: 'photo.png',
      blob: new Blob([png], { type: 'image/png' }),
      width: 4,
      height: 3,
    };
    const text = await exportJson([c], [image]);
    expect(text).toContain('data:image/png;base64,');
    const parsed = parseExport(text);
    expect(parsed.conversations).toEqual([c]);
    expect(parsed.images).toHaveLength(1);
    expect(new Uint8Array(await parsed.images[0]!.blob.arrayBuffer())).toEqual(png);
    expect(parsed.images[0]).toMatchObject({ id: 'img1', name: 'photo.png', width: 4, height: 3 });
  });

  it('writes a Markdown transcript linking each picture as a separate file, and the answer speed', async () => {
    const c = conversation('m', 5, ['img1']);
    c.messages[1]!.usage = {
      promptTokens: 10,
      completionTokens: 20,
      timeToFirstTokenMs: 345,
      decodeTokensPerS: 12.34,
    };
    // The same picture twice in the chat is written once.
    c.messages.push({ id: 'm-u2', role: 'user', text: 'And now?', imageIds: ['img1'], createdAt: 6 });
    const blob = new Blob([png], { type: 'image/png' });
    const { markdown: md, pictures } = exportMarkdown(c, [
      { id: 'img1', name: 'photo [1].png', blob, width: 4, height: 3 },
    ]);
    expect(md).toContain('# Chat m');
    expect(md).toContain('![photo 1.png](images/01-photo-1.png)');
    expect(md).not.toContain('base64');
    expect(md.match(/images\/01-photo-1\.png/g)).toHaveLength(2);
    expect(pictures).toEqual([{ path: 'images/01-photo-1.png', blob }]);
    expect(md).toContain('## Assistant\n\nA **square**.');
    expect(md).toContain('first token 345 ms · 12.3 tokens/s');
    // Beside the Markdown file instead of in a folder (a browser without folder access).
    expect(
      exportMarkdown(c, [{ id: 'img1', name: '../x.png', blob, width: 4, height: 3 }], 'chat-').pictures[0]
        ?.path,
    ).toBe('chat-01-x.png');
  });

  it('refuses files that are not exports, or carry images that are not image data URLs', () => {
    expect(() => parseExport('not json')).toThrow(ImportFormatError);
    expect(() => parseExport('{"format":"something-else"}')).toThrow(/not a conversation export/);
    const bad = (images: unknown[], conversations: unknown[] = []) =>
      JSON.stringify({ format: 'llava-browser-conversations', version: 1, conversations, images });
    expect(() =>
      parseExport(bad([{ id: 'i', name: 'n', width: 1, height: 1, dataUrl: 'https://example.com/x.png' }])),
    ).toThrow(/data URL/);
    expect(() =>
      parseExport(
        bad([{ id: 'i', name: 'n', width: 1, height: 1, dataUrl: 'data:text/html;base64,PHNjcmlwdD4=' }]),
      ),
    ).toThrow(/data URL/);
    expect(() =>
      parseExport(bad([], [{ id: 'c', title: 't', messages: [{ id: 'm', role: 'system', text: 'x' }] }])),
    ).toThrow(/role system/);
    expect(() => dataUrlToBlob('data:image/png;base64,%%%')).toThrow(ImportFormatError);
  });

  it('imports an answer that was streaming as interrupted', () => {
    const c = conversation('s', 1);
    c.messages[1]!.status = 'streaming';
    const parsed = parseExport(
      JSON.stringify({ format: 'llava-browser-conversations', version: 1, conversations: [c], images: [] }),
    );
    expect(parsed.conversations[0]!.messages[1]!.status).toBe('interrupted');
  });
});
