// Owns the public face of the weight store: what the worker (download, ModelSource) and the UI (list, delete,
// verify, import, catalog) may call. Everything else in src/store is internal.
export {
  ensureCached,
  openCachedSource,
  DEFAULT_CHUNK_SIZE,
  type CachedModel,
  type EnsureCachedOptions,
  type StoreOptions,
} from './ensure-cached';
export {
  openStoreSource,
  createTransformersCache,
  type StoreSource,
  type TransformersCache,
} from './store-source';
export {
  listCachedModels,
  deleteCachedModel,
  renameCachedModel,
  deleteAllCachedModels,
  verifyCachedModel,
  type CachedModelSummary,
  type VerifyReport,
  type VerifyFileResult,
} from './cache-admin';
export {
  importLocalFiles,
  filesFromDirectoryHandle,
  filesFromFileList,
  filesFromEntries,
  type ImportOptions,
  type LocalFile,
  type FileLike,
  type DirectoryHandleLike,
  type EntryLike,
} from './local-import';
export {
  CATALOG,
  CONVERT_RECIPES,
  catalogEntry,
  catalogDownloadBytes,
  type CatalogEntry,
  type CatalogFile,
  type ConvertRecipe,
  type Fact,
} from './catalog';
export { modelIdOf, DEFAULT_HUB_ENDPOINT } from './model-ref';
export { type StorageLike } from './quota';
export { openWeightStore, type WeightStore } from './idb-weight-store';
export { discardConversion, hasPausedConversion } from './converted-sink';
