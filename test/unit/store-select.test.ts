// Pure parts of the weight store: file selection per dtype, hub/manifest parsing, URLs, cache keys, the catalog.
import { describe, expect, it } from 'vitest';
import {
  ALIGNED_MICRO_ID_PREFIX,
  BUILT_IN_MODEL_ID,
  CATALOG,
  catalogDownloadBytes,
  isMicroModelId,
} from '../../src/store/catalog';
import { parseContentRange } from '../../src/store/file-download';
import {
  externalDataCount,
  guessFiles,
  resolveDtypes,
  selectFiles,
  type RemoteFile,
} from '../../src/store/file-select';
import { parseLinkNext, parseManifest, parseTreeEntry } from '../../src/store/listing';
import { fileUrl, isSafeRelativePath, modelIdOf, treeApiUrl } from '../../src/store/model-ref';
import { pathFromCacheKey } from '../../src/store/store-source';
import { COMPONENTS, onnxPath } from '../../src/shared/model-layout';

const listing = (paths: string[]): RemoteFile[] => paths.map((path) => ({ path, size: 1 }));

describe('file selection', () => {
  const repo = listing([
    'config.json',
    'tokenizer.json',
    'README.md',
    'model.safetensors',
    'onnx/vision_encoder_fp16.onnx',
    'onnx/vision_encoder_q4.onnx',
    'onnx/embed_tokens_fp16.onnx',
    'onnx/decoder_model_merged_q4.onnx',
    'onnx/decoder_model_merged_q4.onnx_data',
    'onnx/decoder_model_merged_q4.onnx_data_1',
    'onnx/decoder_model_merged_q4f16.onnx',
    'onnx/decoder_model_merged_q4.onnx_data_x',
    'video_processor/config.json',
  ]);

  it('takes support files and the chosen graphs with all their external data, nothing else', () => {
    const dtypes = resolveDtypes(
      { vision_encoder: 'fp16', embed_tokens: 'fp16', decoder_model_merged: 'q4' },
      undefined,
    );
    expect(selectFiles(repo, dtypes).map((f) => f.path)).toEqual([
      'config.json',
      'tokenizer.json',
      'onnx/vision_encoder_fp16.onnx',
      'onnx/embed_tokens_fp16.onnx',
      'onnx/decoder_model_merged_q4.onnx',
      'onnx/decoder_model_merged_q4.onnx_data',
      'onnx/decoder_model_merged_q4.onnx_data_1',
    ]);
  });

  it('resolves dtypes: explicit, then transformers.js_config, then what exists', () => {
    const available = new Set(repo.map((f) => f.path));
    expect(resolveDtypes('q4', { vision_encoder: 'fp16' })).toEqual({
      vision_encoder: 'q4',
      embed_tokens: 'q4',
      decoder_model_merged: 'q4',
    });
    expect(
      resolveDtypes({ decoder_model_merged: 'q4f16' }, { vision_encoder: 'fp16', embed_tokens: 'fp16' }),
    ).toEqual({
      vision_encoder: 'fp16',
      embed_tokens: 'fp16',
      decoder_model_merged: 'q4f16',
    });
    expect(resolveDtypes(undefined, undefined, available)).toEqual({
      vision_encoder: 'q4',
      embed_tokens: 'fp16',
      decoder_model_merged: 'q4',
    });
    expect(resolveDtypes(undefined, 'nonsense')).toEqual({
      vision_encoder: 'fp32',
      embed_tokens: 'fp32',
      decoder_model_merged: 'fp32',
    });
  });

  it('names the precisions on offer when a graph is missing', () => {
    expect(() => selectFiles(repo, resolveDtypes('q8', undefined))).toThrow(
      /vision_encoder_quantized\.onnx.*fp16, q4/,
    );
  });

  it('guesses files from config.json without a listing (external data counts as transformers.js reads them)', () => {
    expect(externalDataCount(true, 'decoder_model_merged.onnx', 'decoder_model_merged')).toBe(1);
    expect(externalDataCount(3, 'x.onnx', 'decoder_model_merged')).toBe(3);
    expect(
      externalDataCount({ decoder_model_merged: 2 }, 'decoder_model_merged_q4.onnx', 'decoder_model_merged'),
    ).toBe(2);
    expect(externalDataCount(false, 'x.onnx', 'embed_tokens')).toBe(0);
    const guessed = guessFiles(
      { 'transformers.js_config': { use_external_data_format: { 'decoder_model_merged_q4.onnx': 2 } } },
      resolveDtypes({ decoder_model_merged: 'q4' }, undefined),
    );
    const paths = guessed.map((f) => f.path);
    expect(paths).toContain('onnx/decoder_model_merged_q4.onnx_data_1');
    expect(paths).not.toContain('onnx/decoder_model_merged_q4.onnx_data_2');
    expect(guessed.find((f) => f.path === 'tokenizer.json')?.optional).toBe(true);
    expect(guessed.find((f) => f.path === 'onnx/vision_encoder.onnx')?.optional).toBeUndefined();
  });
});

describe('listings and addresses', () => {
  it('parses hub tree entries: LFS sha256, git sha1 for small files, no directories or odd paths', () => {
    expect(
      parseTreeEntry({
        type: 'file',
        path: 'onnx/a.onnx',
        size: 134,
        oid: 'a'.repeat(40),
        lfs: { oid: 'B'.repeat(64), size: 999, pointerSize: 134 },
      }),
    ).toEqual({
      path: 'onnx/a.onnx',
      size: 999,
      sha256: 'b'.repeat(64),
    });
    expect(parseTreeEntry({ type: 'file', path: 'config.json', size: 12, oid: 'c'.repeat(40) })).toEqual({
      path: 'config.json',
      size: 12,
      gitSha1: 'c'.repeat(40),
    });
    expect(parseTreeEntry({ type: 'directory', path: 'onnx', size: 0, oid: 'd'.repeat(40) })).toBeNull();
    expect(parseTreeEntry({ type: 'file', path: '../etc/passwd', size: 1, oid: 'd'.repeat(40) })).toBeNull();
  });

  it('follows Link rel=next', () => {
    expect(parseLinkNext('<https://h/api/models/a/b/tree/main?cursor=xyz>; rel="next"')).toBe(
      'https://h/api/models/a/b/tree/main?cursor=xyz',
    );
    expect(parseLinkNext('<https://h/p1>; rel="prev", <https://h/p3>; rel="next"')).toBe('https://h/p3');
    expect(parseLinkNext(null)).toBeNull();
    expect(parseLinkNext('<https://h/p1>; rel="prev"')).toBeNull();
  });

  it('parses manifest.json in list or map form and rejects bad entries', () => {
    const sha = 'e'.repeat(64);
    expect(parseManifest({ files: [{ path: 'config.json', size: 10, sha256: sha }] })).toEqual([
      { path: 'config.json', size: 10, sha256: sha },
    ]);
    expect(parseManifest({ files: { 'onnx/x.onnx': { size: 5 } } })).toEqual([
      { path: 'onnx/x.onnx', size: 5 },
    ]);
    expect(() => parseManifest({ files: [{ path: '/abs', size: 1 }] })).toThrow();
    expect(() => parseManifest({})).toThrow();
  });

  it('builds hub URLs, ids and keeps paths safe', () => {
    const ref = {
      kind: 'hub',
      repo: 'llava-hf/llava-interleave-qwen-0.5b-hf',
      revision: 'refs/pr/6',
      endpoint: 'https://hf-mirror.com/',
    } as const;
    expect(fileUrl(ref, 'onnx/decoder_model_merged_q4.onnx')).toBe(
      'https://hf-mirror.com/llava-hf/llava-interleave-qwen-0.5b-hf/resolve/refs%2Fpr%2F6/onnx/decoder_model_merged_q4.onnx',
    );
    expect(treeApiUrl(ref)).toBe(
      'https://hf-mirror.com/api/models/llava-hf/llava-interleave-qwen-0.5b-hf/tree/refs%2Fpr%2F6?recursive=true',
    );
    expect(modelIdOf(ref)).toBe('llava-hf/llava-interleave-qwen-0.5b-hf@refs/pr/6');
    expect(modelIdOf({ kind: 'hub', repo: 'a/b' })).toBe('a/b');
    expect(fileUrl({ kind: 'hub', repo: 'a/b' }, 'config.json')).toBe(
      'https://huggingface.co/a/b/resolve/main/config.json',
    );
    expect(fileUrl({ kind: 'url', baseUrl: 'http://127.0.0.1:5/models/x' }, 'onnx/a b.onnx')).toBe(
      'http://127.0.0.1:5/models/x/onnx/a%20b.onnx',
    );
    expect(modelIdOf({ kind: 'local', id: 'x' })).toBe('local:x');
    expect(isSafeRelativePath('onnx/a.onnx')).toBe(true);
    for (const bad of ['', '/a', 'a/../b', 'a//b', 'a\\b', './a'])
      expect(isSafeRelativePath(bad)).toBe(false);
  });

  it('parses Content-Range', () => {
    expect(parseContentRange('bytes 100-199/200')).toEqual({ start: 100, total: 200 });
    expect(parseContentRange('bytes 0-9/*')).toEqual({ start: 0, total: null });
    expect(parseContentRange('bytes */200')).toBeNull();
  });

  it('maps transformers.js cache keys to stored paths', () => {
    expect(pathFromCacheKey('/models/tiny-llava/tokenizer.json', 'tiny-llava')).toBe('tokenizer.json');
    expect(
      pathFromCacheKey(
        'https://huggingface.co/Xenova/nanoLLaVA/resolve/main/onnx/a.onnx',
        'Xenova/nanoLLaVA',
      ),
    ).toBe('onnx/a.onnx');
    expect(pathFromCacheKey('/models/not-tiny-llava/tokenizer.json', 'tiny-llava')).toBeNull();
  });
});

describe('catalog', () => {
  it('offers the tiny demo model served by the app, labelled as random weights', () => {
    const tiny = CATALOG.find((e) => e.randomWeights);
    expect(tiny?.ref).toEqual({
      kind: 'url',
      baseUrl: '/models/tiny-llava-random/',
      id: 'tiny-llava-random',
    });
    expect(tiny?.label).toContain('random weights, for checking the pipeline offline');
  });

  it('offers the trained micro LLaVA first, served by the app, saying what it knows and what not', () => {
    const first = CATALOG[0];
    expect(first?.key).toBe(BUILT_IN_MODEL_ID);
    expect(first?.ref).toEqual({ kind: 'url', baseUrl: '/models/micro-llava/', id: 'micro-llava' });
    expect(first?.randomWeights).toBe(false);
    expect(first?.description).toMatch(/circles, squares and triangles/);
    expect(first?.description).toMatch(/nothing of photos, text or code/);
  });

  it('knows which models know the sample scenes: the built-in one and those aligned on the training page', () => {
    expect(isMicroModelId(BUILT_IN_MODEL_ID)).toBe(true);
    expect(isMicroModelId(modelIdOf({ kind: 'local', id: `${ALIGNED_MICRO_ID_PREFIX}m1x2` }))).toBe(true);
    expect(isMicroModelId(modelIdOf({ kind: 'local', id: 'tiny-llava-random' }))).toBe(false);
    expect(isMicroModelId(`${ALIGNED_MICRO_ID_PREFIX}m1x2`)).toBe(false);
    expect(isMicroModelId('tiny-llava-random')).toBe(false);
    expect(isMicroModelId(null)).toBe(false);
  });

  it('lists the real repos with the graphs of both dtype choices, sizes, GPU memory and provenance', () => {
    const hub = CATALOG.filter((e) => e.ref.kind === 'hub');
    const repos = hub.map((e) => (e.ref.kind === 'hub' ? e.ref.repo : ''));
    expect(repos).toEqual([
      'llava-hf/llava-interleave-qwen-0.5b-hf',
      'llava-hf/llava-onevision-qwen2-0.5b-ov-hf',
      'Xenova/nanoLLaVA',
    ]);
    for (const entry of hub) {
      for (const dtype of [entry.recommendedDtype.value, entry.fallbackDtype.value]) {
        for (const c of COMPONENTS)
          expect(
            entry.files.map((f) => f.path),
            `${entry.key} ${c}`,
          ).toContain(onnxPath(c, dtype[c]));
        const bytes = catalogDownloadBytes(entry, dtype);
        expect(bytes).toBeGreaterThan(300e6);
        expect(entry.gpuMemoryBytes.value).toBeGreaterThan(bytes ?? 0);
      }
      expect(entry.files.some((f) => f.path === 'config.json')).toBe(true);
      for (const f of entry.files) {
        if (f.bytes.verified) expect(f.bytes.source).toMatch(/^https:\/\/huggingface\.co\//);
        if (f.sha256) expect(f.sha256.value).toMatch(/^[0-9a-f]{64}$/);
      }
    }
  });
});
