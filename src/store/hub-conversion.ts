// Owns converting a llava-hf checkpoint from the hub into the weight store, inside a worker: list the repo, refuse
// what cannot be converted before any tensor byte (no config.json, pickle-only, unknown architecture: the core
// checks config and headers before it makes its sink), then run the one converter core over the HTTP source (headers
// by Range, tensors streamed in file order, each file checked against the listing's sha256) into a StoreSink. It runs
// in a worker (header reads are synchronous XHRs) and never holds or stores a whole checkpoint.
import {
  convertFromSources,
  type ConvertChoices,
  type ConvertResult,
} from '../modelgen/convert/convert-core';
import { PICKLE } from '../modelgen/convert/checkpoint';
import { isConvertError, type ConvertErrorCode } from '../modelgen/convert/errors';
import { EngineError, type EngineErrorCode } from '../shared/errors';
import { StoreSink } from './converted-sink';
import { DEFAULT_CHUNK_SIZE } from './ensure-cached';
import type { FetchLike } from './http';
import { httpSourceFolder } from './http-checkpoint-source';
import { hashInHashWorker } from './source-hash';
import { getDefaultWeightStore, type WeightStore } from './idb-weight-store';
import { listHubFiles } from './listing';
import { listCachedModels } from './cache-admin';
import { checkQuota, defaultStorage, type StorageLike } from './quota';
import { fileUrl, modelIdOf } from './model-ref';

export interface HubConversionOptions extends ConvertChoices {
  ref: { kind: 'hub'; repo: string; revision?: string; endpoint?: string };
  /** The name it is stored under, as `{kind: 'local', id}` (default: `converted/<repo>-<quant>`). */
  id?: string;
  label?: string;
  store?: WeightStore;
  /** Where the storage quota is read (default navigator.storage; null: no check). */
  storage?: StorageLike | null;
  chunkSize?: number;
  fetch?: FetchLike;
  /** Bytes fetched per source file (headers, small files and tensor ranges). */
  onBytes?: (path: string, bytes: number) => void;
  /** Output bytes put into the store, per output file. */
  onStored?: (path: string, bytes: number) => void;
}

export interface HubConversionResult {
  /** Load it as `{kind: 'local', id}`. */
  id: string;
  result: ConvertResult;
}

/** The converter's codes as the app's: what a person can fix (the repo) vs what the app cannot do. */
const CODES: Partial<Record<ConvertErrorCode, EngineErrorCode>> = {
  'unsupported-architecture': 'unsupported',
  'unsupported-dtype': 'unsupported',
  'pickle-checkpoint': 'unsupported',
  truncated: 'integrity',
  integrity: 'integrity',
  'bad-header': 'integrity',
};

/** The stored id of a conversion: one per repo, revision and decoder precision. */
export function convertedModelId(ref: HubConversionOptions['ref'], quant: string): string {
  return `converted/${modelIdOf(ref).replace(/^hub\//, '')}-${quant}`;
}

/**
 * Converts `ref` into the weight store. Resolves with the stored id (ref `{kind: 'local', id}`).
 * @throws EngineError 'unsupported' (pickle-only, unknown architecture), 'quota-exceeded' (the plan's storage does
 *   not fit): both before any tensor byte; 'bad-model', 'integrity', 'download-failed'; AbortError. Nothing
 *   half-converted is listed; what was converted is kept for the next attempt to resume.
 */
export async function convertHubCheckpoint(o: HubConversionOptions): Promise<HubConversionResult> {
  const fetchFn = o.fetch ?? ((input, init) => fetch(input, init));
  const files = await listHubFiles(o.ref, { fetch: fetchFn, signal: o.signal });
  const names = files.map((f) => f.path);
  if (!names.includes('config.json'))
    throw new EngineError('bad-model', `${o.ref.repo} has no config.json: it is not a model repository.`);
  if (!names.some((n) => n.endsWith('.safetensors'))) {
    const pickles = names.filter((n) => PICKLE.test(n));
    throw new EngineError(
      pickles.length > 0 ? 'unsupported' : 'bad-model',
      pickles.length > 0
        ? `${o.ref.repo} holds only PyTorch pickle weights (${pickles.join(', ')}), which a browser cannot read ` +
            'safely or tensor by tensor. Pick its llava-hf safetensors version, or convert it on a computer ' +
            '(npm run convert, see the README).'
        : `${o.ref.repo} has no safetensors weights.`,
    );
  }
  const {
    ref,
    id: wantedId,
    label,
    store,
    storage,
    chunkSize,
    fetch: _fetch,
    onBytes,
    onStored,
    ...choices
  } = o;
  const id = wantedId ?? convertedModelId(ref, o.quant);
  const sink = new StoreSink({
    store: store ?? getDefaultWeightStore(),
    name: id,
    chunkSize: chunkSize ?? DEFAULT_CHUNK_SIZE,
    ...(label === undefined ? {} : { label }),
    ...(onStored === undefined ? {} : { onStored }),
  });
  const folder = httpSourceFolder({
    label: ref.repo,
    files,
    url: (path) => fileUrl(ref, path),
    fetch: fetchFn,
    ...(onBytes === undefined ? {} : { onBytes }),
    ...(o.signal === undefined ? {} : { signal: o.signal }),
  });
  try {
    // A resumed conversion must read the very same files: revision, sizes and hashes from the listing name them.
    const resumeKey = JSON.stringify([
      ref.revision ?? 'main',
      files
        .filter((f) => f.path.endsWith('.safetensors') || f.path.endsWith('.json'))
        .map((f) => [f.path, f.size, f.sha256 ?? f.gitSha1 ?? null]),
    ]);
    const weightStore = store ?? getDefaultWeightStore();
    const result = await convertFromSources({
      ...choices,
      resumeKey,
      hashSource: hashInHashWorker,
      checkPlan: async (plan) => {
        // What a paused conversion of this model already stored counts towards the plan.
        const kept = (await weightStore.listFiles(sink.id)).reduce((n, f) => n + f.storedBytes, 0);
        await checkQuota(
          storage === undefined ? defaultStorage() : storage,
          plan.storageBytes - kept,
          async () =>
            (await listCachedModels({ store: weightStore })).map((m) => ({ id: m.id, bytes: m.bytes })),
        );
      },
      input: folder,
      createSink: (key) => sink.start(key),
    });
    return { id, result };
  } catch (error) {
    if (isConvertError(error))
      throw new EngineError(CODES[error.code] ?? 'bad-model', error.message, { cause: error });
    throw error;
  }
}
