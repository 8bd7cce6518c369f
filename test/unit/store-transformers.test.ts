// transformers.js gets its tokenizer files from the weight store through env.customCache, with every other way to
// reach files shut (no remote, local pointed at an empty path): the tokenizer it builds encodes exactly like one loaded from the folder itself.
import 'fake-indexeddb/auto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { AutoTokenizer, env } from '@huggingface/transformers';
import { afterEach, describe, expect, it } from 'vitest';
import { importLocalFiles, type LocalFile } from '../../src/store/local-import';
import { createTransformersCache, openStoreSource } from '../../src/store/store-source';
import { getTinyModel } from '../fixtures/tiny-model';
import { offlineModelId } from '../fixtures/transformers-offline';
import { freshStore } from './helpers/store-fixtures';

async function folderFiles(dir: string, prefix = ''): Promise<LocalFile[]> {
  const out: LocalFile[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const rel = `${prefix}${entry.name}`;
    if (entry.isDirectory()) out.push(...(await folderFiles(path.join(dir, entry.name), `${rel}/`)));
    else out.push({ path: rel, file: new File([await readFile(path.join(dir, entry.name))], entry.name) });
  }
  return out;
}

afterEach(() => {
  env.useCustomCache = false;
  env.customCache = null;
});

describe('transformers.js reads tokenizer files from the store', () => {
  it('builds the same tokenizer from the store as from the folder, with local and remote loading off', async () => {
    const dir = getTinyModel('tiny').dir;
    const text = 'What is in this picture? <image>';
    const fromFolder = await AutoTokenizer.from_pretrained(offlineModelId(dir));
    const expected = fromFolder.encode(text);

    const store = freshStore();
    const model = await importLocalFiles(await folderFiles(dir), {
      store,
      id: 'tiny-from-store',
      storage: null,
    });
    const requested: string[] = [];
    const cache = createTransformersCache(openStoreSource(model.id, { store }), 'tiny-from-store');
    // transformers.js refuses to have both sources off: "local" points at a folder that does not exist instead.
    env.allowLocalModels = true;
    env.localModelPath = path.join(dir, 'no-such-folder') + path.sep;
    env.allowRemoteModels = false;
    env.useCustomCache = true;
    env.customCache = {
      match: (key: string) => {
        requested.push(key);
        return cache.match(key);
      },
      put: (key: string, response: Response) => cache.put(key, response),
    };
    const fromStore = await AutoTokenizer.from_pretrained('tiny-from-store');
    expect(fromStore.encode(text)).toEqual(expected);
    expect(requested.some((key) => key.endsWith('tokenizer.json'))).toBe(true);
  });
});
