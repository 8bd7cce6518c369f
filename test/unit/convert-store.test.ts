// The weight store knows sharded decoders: a converted folder's manifest listing selects every shard and its data
// (not a missing decoder_model_merged file), a config without a listing names them too, and a folder imported into
// the store (hashes checked against manifest.json) loads from the store and chats like the folder on disk.
import 'fake-indexeddb/auto';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { promisify } from 'node:util';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine } from '../../src/engine/engine';
import { convertCheckpoint, type ConvertResult } from '../../src/modelgen/convert/convert';
import { decoderLayerBytes } from '../../src/modelgen/convert/shard-plan';
import { getPreset } from '../../src/modelgen/llava/presets';
import { createRandomWeights } from '../../src/modelgen/llava/random-weights';
import { EngineError } from '../../src/shared/errors';
import type { ChatMessage } from '../../src/shared/protocol';
import { CONVERT_RECIPES } from '../../src/store/catalog';
import { guessFiles, selectFiles } from '../../src/store/file-select';
import { parseManifest } from '../../src/store/listing';
import { importLocalFiles, type FileLike } from '../../src/store/local-import';
import { openStoreSource } from '../../src/store/store-source';
import { removeTempDirs, tempDir, writeLlavaHfCheckpoint } from './convert-helpers';
import { CPU_BACKEND, folderEngine, imageQuestion, picture } from './engine-helpers';
import { freshStore } from './helpers/store-fixtures';

const DTYPES = { vision_encoder: 'fp32', embed_tokens: 'fp32', decoder_model_merged: 'q4' } as const;
let result: ConvertResult;

beforeAll(async () => {
  const config = getPreset('tiny');
  config.text_config.num_hidden_layers = 4;
  const root = tempDir('store');
  writeLlavaHfCheckpoint(path.join(root, 'ckpt'), config, createRandomWeights(config, 2), 'llava-hf');
  result = await convertCheckpoint({
    input: path.join(root, 'ckpt'),
    output: path.join(root, 'sharded'),
    quant: 'q4',
    shardSize: 90_000 + 2 * decoderLayerBytes(config, 'q4'),
  });
  expect(result.shards).toHaveLength(3);
});

afterAll(removeTempDirs);

function walk(dir: string, prefix = ''): string[] {
  return readdirSync(dir).flatMap((name) =>
    statSync(path.join(dir, name)).isDirectory()
      ? walk(path.join(dir, name), `${prefix}${name}/`)
      : [`${prefix}${name}`],
  );
}

function inputFiles(dir: string): FileLike[] {
  return walk(dir).map((p) => {
    const bytes = readFileSync(path.join(dir, p));
    const file = new File([new Uint8Array(bytes)], path.basename(p));
    return Object.assign(file, { webkitRelativePath: `converted/${p}` }) as unknown as FileLike;
  });
}

describe('conversion recipes in the catalog', () => {
  it.each(CONVERT_RECIPES.map((r) => [r.key, r] as const))(
    '%s: its convert command runs as written',
    async (_key, recipe) => {
      expect(recipe.gpuMemoryBytes.value).toBeGreaterThan(4e9);
      expect(recipe.ref).toEqual({ kind: 'local', id: recipe.convert!.outputFolder });
      const command = recipe.convert!.commands.find((c) => c.startsWith('npm run convert -- '))!;
      const args = command.slice('npm run convert -- '.length).split(/\s+/);
      const root = tempDir('recipe');
      writeLlavaHfCheckpoint(
        path.join(root, 'in'),
        getPreset('tiny'),
        createRandomWeights(getPreset('tiny'), 1),
        'llava-hf',
      );
      // The same flags, on a tiny checkpoint: only --input and --output point elsewhere.
      const at = (flag: string): number => args.indexOf(flag) + 1;
      args[at('--input')] = path.join(root, 'in');
      args[at('--output')] = path.join(root, recipe.convert!.outputFolder);
      await promisify(execFile)(process.execPath, [
        '--import',
        'tsx',
        'src/modelgen/cli/convert.ts',
        ...args,
      ]);
      const config = JSON.parse(
        readFileSync(path.join(root, recipe.convert!.outputFolder, 'config.json'), 'utf8'),
      ) as Record<string, Record<string, unknown>>;
      expect(config['transformers.js_config']!.dtype).toEqual(recipe.recommendedDtype.value);
      expect(existsSync(path.join(root, recipe.convert!.outputFolder, 'manifest.json'))).toBe(true);
    },
    60_000,
  );
});

describe('sharded decoders in the weight store', () => {
  it('selects every shard graph and data file from the manifest listing, in order', () => {
    const listing = parseManifest(JSON.parse(readFileSync(path.join(result.dir, 'manifest.json'), 'utf8')));
    const chosen = selectFiles(listing, DTYPES).map((f) => f.path);
    const expected = result.shards.flatMap((s) => [s.file, ...s.external_data]);
    expect(chosen.filter((p) => p.includes('decoder'))).toEqual(expected);
    expect(chosen).toEqual(
      expect.arrayContaining([
        'config.json',
        'tokenizer.json',
        'onnx/vision_encoder.onnx',
        'onnx/embed_tokens.onnx',
      ]),
    );
    // Another precision is still refused with the list of what exists.
    expect(() => selectFiles(listing, { ...DTYPES, decoder_model_merged: 'q8' })).toThrow(EngineError);
    // An incomplete set of shards is not a decoder.
    const partial = listing.filter((f) => f.path !== result.shards[1]!.file);
    expect(() => selectFiles(partial, DTYPES)).toThrow(/decoder_model_merged_q4\.onnx/);
  });

  it('names the shards from config.json when the server offers no listing', () => {
    const config = JSON.parse(readFileSync(path.join(result.dir, 'config.json'), 'utf8')) as unknown;
    const guessed = guessFiles(config, DTYPES).map((f) => f.path);
    expect(guessed.filter((p) => p.includes('decoder'))).toEqual(
      result.shards.flatMap((s) => [s.file, ...s.external_data]),
    );
  });

  it('imports the folder (checked against manifest.json) and chats from the store like from the folder', async () => {
    const store = freshStore();
    const imported = await importLocalFiles(
      inputFiles(result.dir).map((file) => ({ path: file.webkitRelativePath!, file })),
      { store, storage: null, chunkSize: 64 * 1024 },
    );
    expect(imported.files.map((f) => f.path)).toEqual(
      expect.arrayContaining(result.shards.map((s) => s.file)),
    );
    const messages: ChatMessage[] = [imageQuestion(picture(40, 40, 9), 'What do you see?')];
    const sampling = { temperature: 0, maxNewTokens: 8 };
    const fromStore = createEngine({
      ort,
      openSource: async () => openStoreSource(imported.ref, { store }),
      decodeImage: async () => {
        throw new EngineError('bad-image', 'no files in this test');
      },
      selectBackend: async () => CPU_BACKEND,
    });
    await fromStore.load(imported.ref);
    const a = await fromStore.chat({ messages, sampling });
    const fromFolder = folderEngine(result.dir);
    await fromFolder.load({ kind: 'local', id: 'folder' });
    const b = await fromFolder.chat({ messages, sampling });
    expect(a.message.content).toEqual(b.message.content);
    expect((await fromStore.status()).model?.dtype.decoder_model_merged).toBe('q4');
    await Promise.all([fromStore.unload(), fromFolder.unload()]);
  });
});
