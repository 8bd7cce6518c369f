// Owns turning a projector aligned in the browser into a model folder the chat can load: the base micro weights
// with the trained projector swapped in, the folder's files built by micro-files.ts (the code path Node's export
// uses), hashed into manifest.json, and the name the chat lists it under. Runtime-agnostic (Web Crypto, no fs);
// storing the files is the weight store's job.

import type { ManifestFile } from '../../modelgen/llava/folder-files';
import type { BuiltTokenizer } from '../../modelgen/llava/tokenizer-json';
import type { LlavaHfConfig, WeightMap } from '../../modelgen/llava/types';
import { toWeightMap, type Params } from '../model/params';
import { microManifestBytes, microModelFiles } from './micro-files';
import { sha256Hex } from '../../shared/hex';

/** A browser cannot read the generator's sources to fingerprint them; the manifest says where the folder was made. */
export const BROWSER_FINGERPRINT = 'built-in-browser';

/** The name the chat shows for a model aligned on the training page. */
export function alignedModelLabel(steps: number): string {
  return `micro LLaVA, projector aligned in this browser, ${steps} step${steps === 1 ? '' : 's'}`;
}

/** `base` with every projector tensor replaced by its trained value from `params` (copied out of TF.js). */
export function alignedWeights(base: WeightMap, params: Params): WeightMap {
  const trained = toWeightMap(params);
  const out: WeightMap = new Map(base);
  for (const name of params.namesIn(['projector'])) {
    const t = trained.get(name);
    if (!t || !base.has(name)) throw new Error(`the micro model has no projector weight ${name}`);
    out.set(name, t);
  }
  return out;
}

export interface AlignedFolder {
  config: LlavaHfConfig;
  weights: WeightMap;
  tokenizer: BuiltTokenizer;
  steps: number;
  seed: number;
}

/** The folder's files (graphs, configs, tokenizer, manifest.json with every file's sha256), in memory. */
export async function alignedModelFiles(
  o: AlignedFolder,
): Promise<Array<{ path: string; bytes: Uint8Array }>> {
  const options = {
    config: o.config,
    weights: o.weights,
    tokenizer: o.tokenizer,
    source: `micro-llava, projector aligned in the browser: ${o.steps} steps, seed ${o.seed}`,
  };
  const files = [...microModelFiles(options)].map(([path, bytes]) => ({ path, bytes }));
  const listed: ManifestFile[] = await Promise.all(
    files.map(async (f) => ({ path: f.path, size: f.bytes.byteLength, sha256: await sha256Hex(f.bytes) })),
  );
  files.push({ path: 'manifest.json', bytes: microManifestBytes(options, listed, BROWSER_FINGERPRINT) });
  return files;
}
