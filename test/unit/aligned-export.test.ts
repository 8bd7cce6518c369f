// The training page's "Use this model in the chat", below the page: the aligned model's folder is built in memory by
// the same code Node's export writes to disk (every file byte-identical; manifest.json differs only where it says
// where the folder was made), only the projector differs from the base weights, and the weight store's local
// import takes the files, verifying each against the manifest, under the name the chat lists.
import 'fake-indexeddb/auto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMicroModel } from '../../src/training/fixture';
import { initTf } from '../../src/training/model/backend';
import { alignModel } from '../../src/training/train/browser-align';
import {
  alignedModelFiles,
  alignedModelLabel,
  alignedWeights,
  BROWSER_FINGERPRINT,
} from '../../src/training/train/aligned-export';
import { writeMicroModelFolder } from '../../src/training/train/export';
import { listCachedModels, verifyCachedModel } from '../../src/store/cache-admin';
import { importLocalFiles, type LocalFile } from '../../src/store/local-import';
import { freshStore } from './helpers/store-fixtures';

const micro = loadMicroModel();
let dir: string;

beforeAll(async () => {
  await initTf();
  dir = mkdtempSync(path.join(os.tmpdir(), 'aligned-export-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const asLocalFiles = (files: ReadonlyArray<{ path: string; bytes: Uint8Array }>): LocalFile[] =>
  files.map((f) => ({ path: f.path, file: new File([f.bytes as Uint8Array<ArrayBuffer>], f.path) }));

describe('the aligned model folder', () => {
  it('holds the files Node exports for the same weights, byte for byte', async () => {
    const files = await alignedModelFiles({ ...micro, steps: 20, seed: 1 });
    const written = writeMicroModelFolder(dir, micro);
    const paths = files.map((f) => f.path).sort();
    expect(paths).toEqual([...written.files.map((f) => f.path), 'manifest.json'].sort());
    expect(paths).toContain('onnx/decoder_model_merged.onnx');
    for (const f of files) {
      if (f.path === 'manifest.json') continue;
      expect(Buffer.from(f.bytes).equals(readFileSync(path.join(dir, f.path))), f.path).toBe(true);
    }
    const mine = JSON.parse(new TextDecoder().decode(files.find((f) => f.path === 'manifest.json')!.bytes));
    const node = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
    expect(mine.files).toEqual(node.files);
    expect(mine.generator).toEqual({ ...node.generator, fingerprint: BROWSER_FINGERPRINT });
    expect(mine.source).toBe('micro-llava, projector aligned in the browser: 20 steps, seed 1');
    expect({ ...mine, generator: null, source: null, files: null }).toEqual({
      ...node,
      generator: null,
      source: null,
      files: null,
    });
  });

  it('takes the trained projector and keeps every other weight', () => {
    const m = alignModel(micro.config, micro.weights, micro.tokenizer, 7);
    try {
      const projector = new Set(m.params.namesIn(['projector']));
      expect(projector.size).toBeGreaterThan(0);
      const out = alignedWeights(micro.weights, m.params);
      expect([...out.keys()].sort()).toEqual([...micro.weights.keys()].sort());
      for (const [name, t] of out) {
        const trained = projector.has(name);
        if (trained) {
          expect(t.data).toEqual(m.params.get(name).dataSync());
          expect(t.data).not.toEqual(micro.weights.get(name)!.data);
        } else expect(t).toBe(micro.weights.get(name));
      }
    } finally {
      m.params.dispose();
    }
  });

  it('is stored by the local import under its label, every file checked against the manifest', async () => {
    const store = freshStore();
    const files = await alignedModelFiles({ ...micro, steps: 200, seed: 1 });
    const stored = await importLocalFiles(asLocalFiles(files), {
      id: 'aligned-test',
      label: alignedModelLabel(200),
      store,
      storage: null,
    });
    expect(stored.label).toBe('micro LLaVA, projector aligned in this browser, 200 steps');
    const listed = await listCachedModels({ store });
    expect(listed.map((c) => [c.id, c.label, c.complete])).toEqual([
      ['local:aligned-test', 'micro LLaVA, projector aligned in this browser, 200 steps', true],
    ]);
    const report = await verifyCachedModel('local:aligned-test', { store });
    expect(report.files.every((f) => f.ok)).toBe(true);
    // A byte changed on the way (after the manifest was made) is refused, not stored.
    const onnx = files.find((f) => f.path === 'onnx/vision_encoder.onnx')!;
    onnx.bytes = onnx.bytes.slice();
    onnx.bytes[onnx.bytes.length - 1]! ^= 1;
    await expect(
      importLocalFiles(asLocalFiles(files), {
        id: 'aligned-bad',
        label: 'x',
        store: freshStore(),
        storage: null,
      }),
    ).rejects.toMatchObject({ code: 'integrity' });
    expect(alignedModelLabel(1)).toBe('micro LLaVA, projector aligned in this browser, 1 step');
  });
});
