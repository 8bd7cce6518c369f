// Owns adapting the weight store's public face (src/store/index.ts) to the WeightsApi the model panel uses:
// catalog facts to display values, cache summaries, delete/verify/import, and the browser's storage estimate.
import { isAbortError } from '../shared/abort';
import { COMPONENTS, isExternalDataOf, onnxPath, type Component, type Dtype } from '../shared/model-layout';
import { CATALOG, CONVERT_RECIPES, catalogDownloadBytes, type CatalogEntry } from '../store/catalog';
import { modelIdOf } from '../store/model-ref';
import type { CachedModel, CatalogModel, RecipeModel, StorageInfo, WeightsApi } from './stores/model-store';

/** Sizes of a folder the app serves itself, from the manifest.json the generator writes beside the files. */
async function bundledBytes(baseUrl: string, dtype: Record<Component, Dtype>): Promise<number | null> {
  try {
    const res = await fetch(new URL('manifest.json', new URL(baseUrl, location.href)));
    if (!res.ok) return null;
    const manifest = (await res.json()) as { files?: { path: string; size: number }[] };
    const graphs = COMPONENTS.map((c) => onnxPath(c, dtype[c]));
    return (manifest.files ?? [])
      .filter(
        (f) => !f.path.startsWith('onnx/') || graphs.some((g) => f.path === g || isExternalDataOf(f.path, g)),
      )
      .reduce((n, f) => n + f.size, 0);
  } catch (error) {
    if (isAbortError(error)) throw error;
    return null;
  }
}

function isBundled(entry: CatalogEntry): boolean {
  return entry.ref.kind === 'url' && !/^[a-z]+:/i.test(entry.ref.baseUrl);
}

function unverified(entry: CatalogEntry): boolean {
  return (
    !entry.recommendedDtype.verified ||
    !entry.gpuMemoryBytes.verified ||
    entry.files.some((f) => !f.bytes.verified)
  );
}

async function toCatalogModel(entry: CatalogEntry): Promise<CatalogModel> {
  const dtype = entry.recommendedDtype.value;
  const bytes =
    catalogDownloadBytes(entry, dtype) ??
    (isBundled(entry) && entry.ref.kind === 'url' ? await bundledBytes(entry.ref.baseUrl, dtype) : null);
  return {
    id: modelIdOf(entry.ref),
    name: entry.label,
    description: entry.description,
    ref: entry.ref,
    downloadBytes: bytes,
    dtype,
    fallbackDtype: entry.fallbackDtype.value,
    gpuMemoryBytes: entry.gpuMemoryBytes.value,
    randomWeights: entry.randomWeights,
    bundled: isBundled(entry),
    unverified: !isBundled(entry) && unverified(entry),
    checkedAgainstPublishedFiles: entry.checkedAgainstPublishedFiles !== null,
  };
}

function toRecipe(entry: CatalogEntry): RecipeModel[] {
  const recipe = entry.convert;
  if (!recipe) return [];
  return [
    {
      id: entry.key,
      // The panel's heading already says "convert it yourself".
      name: entry.label.replace(/\s+—\s+convert it yourself$/i, ''),
      description: entry.description,
      sourceRepo: recipe.sourceRepo,
      commands: [...recipe.commands],
      outputFolder: recipe.outputFolder,
      downloadBytes: recipe.downloadBytes.value,
      outputBytes: recipe.outputBytes.value,
      gpuMemoryBytes: entry.gpuMemoryBytes.value,
    },
  ];
}

/** The rest of the store (hashing, IndexedDB) loads on first use, keeping it out of the page's first bundle. */
const store = () => import('../store');

export function createWeightsPort(): WeightsApi {
  let catalog: Promise<CatalogModel[]> | undefined;
  return {
    catalog: () => (catalog ??= Promise.all(CATALOG.map(toCatalogModel))),
    recipes: () => CONVERT_RECIPES.flatMap(toRecipe),
    listCached: async (): Promise<CachedModel[]> =>
      (await (await store()).listCachedModels()).map((m) => ({
        id: m.id,
        label: m.label ?? CATALOG.find((e) => modelIdOf(e.ref) === m.id)?.label ?? m.id,
        ref: m.ref,
        bytes: m.bytes,
        complete: m.complete,
      })),
    remove: async (id) => (await store()).deleteCachedModel(id),
    rename: async (id, label) => (await store()).renameCachedModel(id, label),
    verify: async (id, signal) => {
      const report = await (await store()).verifyCachedModel(id, signal ? { signal } : {});
      return report.files.filter((f) => !f.ok).map((f) => `${f.path} (${f.problem ?? 'damaged'})`);
    },
    importFolder: async (files, op) => {
      const { importLocalFiles, filesFromFileList } = await store();
      const stored = await importLocalFiles(filesFromFileList(files), {
        ...(op.signal ? { signal: op.signal } : {}),
        ...(op.onEvent ? { onProgress: op.onEvent } : {}),
      });
      return { id: stored.id, ref: stored.ref, label: stored.label };
    },
    estimate: async (): Promise<StorageInfo | null> => {
      const est = await navigator.storage?.estimate?.();
      if (!est) return null;
      return {
        usage: est.usage ?? 0,
        quota: est.quota ?? 0,
        persisted: (await navigator.storage.persisted?.()) ?? false,
      };
    },
  };
}
