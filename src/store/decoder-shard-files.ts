// Owns which files a decoder split into shards needs (a converted model: onnx/decoder_shard_{k}_of_{n}{suffix}.onnx,
// listed in config.json's `llava_browser.decoder_shards`). Pure: listings and configs in, paths out; no I/O.
import {
  isExternalDataOf,
  parseDecoderShardPath,
  parseDecoderShards,
  type Dtype,
} from '../shared/model-layout';
import type { RemoteFile } from './file-select';

/**
 * The shard graphs of `dtype` in a complete listing, with their external data, in shard order; null when the
 * listing has no complete set (every k of 1..n) for that dtype.
 */
export function decoderShardFiles(listing: readonly RemoteFile[], dtype: Dtype): RemoteFile[] | null {
  const byK = new Map<number, RemoteFile>();
  let n = 0;
  for (const f of listing) {
    const shard = parseDecoderShardPath(f.path);
    if (shard === null || shard.dtype !== dtype) continue;
    if (n !== 0 && shard.n !== n) return null;
    n = shard.n;
    byK.set(shard.k, f);
  }
  if (n === 0) return null;
  const out: RemoteFile[] = [];
  for (let k = 1; k <= n; k++) {
    const graph = byK.get(k);
    if (graph === undefined) return null;
    out.push(graph, ...listing.filter((f) => isExternalDataOf(f.path, graph.path)));
  }
  return out;
}

/**
 * For a server without a listing: the shard graphs and data files config.json names, when its decoder dtype is
 * `dtype`. Null for an unsharded model.
 * @throws EngineError('bad-model') when the block is malformed or newer than this app reads (before any download).
 */
export function decoderShardFilesFromConfig(config: unknown, dtype: Dtype): string[] | null {
  const list = parseDecoderShards(config);
  if (list === null || list.dtype !== dtype) return null;
  return list.shards.flatMap((s) => [s.file, ...s.externalData]);
}
