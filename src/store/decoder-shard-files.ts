// Owns which files a decoder split into shards needs (a converted model: onnx/decoder_shard_{k}_of_{n}{suffix}.onnx,
// listed in config.json's `llava_browser.decoder_shards`). Pure: listings and configs in, paths out; no I/O.
import type { Dtype } from '../shared/protocol';
import type { RemoteFile } from './file-select';

/** transformers.js file-name suffixes (as file-select.ts; repeated so that file-select can import this file). */
const DTYPE_SUFFIX: Readonly<Record<Dtype, string>> = {
  fp32: '',
  fp16: '_fp16',
  q8: '_quantized',
  q4: '_q4',
  q4f16: '_q4f16',
};

const SHARD = /^onnx\/decoder_shard_(\d+)_of_(\d+)(.*)\.onnx$/;

/** True when `path` is an external data file of `onnxFile` (`x.onnx_data`, `x.onnx_data_1`, …). */
function isDataOf(path: string, onnxFile: string): boolean {
  if (!path.startsWith(`${onnxFile}_data`)) return false;
  const rest = path.slice(onnxFile.length + '_data'.length);
  return rest === '' || /^_\d+$/.test(rest);
}

/**
 * The shard graphs of `dtype` in a complete listing, with their external data, in shard order; null when the
 * listing has no complete set (every k of 1..n) for that dtype.
 */
export function decoderShardFiles(listing: readonly RemoteFile[], dtype: Dtype): RemoteFile[] | null {
  const suffix = DTYPE_SUFFIX[dtype];
  const byK = new Map<number, RemoteFile>();
  let n = 0;
  for (const f of listing) {
    const m = SHARD.exec(f.path);
    if (m === null || m[3] !== suffix) continue;
    const count = Number(m[2]);
    if (n !== 0 && count !== n) return null;
    n = count;
    byK.set(Number(m[1]), f);
  }
  if (n === 0) return null;
  const out: RemoteFile[] = [];
  for (let k = 1; k <= n; k++) {
    const graph = byK.get(k);
    if (graph === undefined) return null;
    out.push(graph, ...listing.filter((f) => isDataOf(f.path, graph.path)));
  }
  return out;
}

/** For a server without a listing: the shard graphs and data files config.json names, when its decoder dtype is `dtype`. */
export function decoderShardFilesFromConfig(config: unknown, dtype: Dtype): string[] | null {
  const block = (config as { llava_browser?: unknown } | null)?.llava_browser as
    { decoder_dtype?: unknown; decoder_shards?: unknown } | undefined;
  if (
    block?.decoder_dtype !== dtype ||
    !Array.isArray(block.decoder_shards) ||
    block.decoder_shards.length <= 1
  )
    return null;
  const out: string[] = [];
  for (const s of block.decoder_shards as Array<{ file?: unknown; external_data?: unknown }>) {
    if (typeof s.file !== 'string') return null;
    out.push(s.file);
    if (Array.isArray(s.external_data))
      for (const f of s.external_data) if (typeof f === 'string') out.push(f);
  }
  return out;
}
