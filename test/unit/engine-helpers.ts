// Shared setup for the engine tests: a CPU backend, an engine over a generated model folder, test pictures and a
// ModelSource wrapper that overrides JSON files. Test-only; no assertions here.

import type { EngineDeps } from '../../src/engine/engine';
import type { TurnOptions } from '../../src/engine/generate';
import type { LoadedModel } from '../../src/engine/model-loader';
import type { ModelSource } from '../../src/engine/model-source';
import { Sampler, samplerSettings } from '../../src/engine/sampler';
import { createNodeEngine } from '../../src/node/node-engine';
import type { ChatMessage, EngineApi, RawImage } from '../../src/shared/protocol';

export { NODE_CPU_BACKEND as CPU_BACKEND } from '../../src/node/node-engine';

/** generateTurn options for a plain greedy turn of `m` (seed 0, no stop strings, a clock stuck at 0). */
export function greedyTurnOptions(m: LoadedModel, maxNewTokens: number): TurnOptions {
  return {
    sampler: new Sampler(samplerSettings({ seed: 0 })),
    maxNewTokens,
    eosIds: new Set(m.config.eosTokenIds),
    stops: [],
    contextLength: m.config.text.contextLength,
    decode: m.tokenizer.decode,
    onText: () => undefined,
    now: () => 0,
    startedAt: 0,
  };
}

/** Deterministic RGBA noise of the given size. */
export function picture(w: number, h: number, seed = 1): RawImage {
  const data = new Uint8ClampedArray(w * h * 4).map(
    (_, i) => (i * i * 7 + i * (31 + seed) + 11 * seed) % 256,
  );
  return { width: w, height: h, data };
}

export function imageQuestion(image: RawImage, text: string): ChatMessage {
  return {
    role: 'user',
    content: [
      { type: 'image', image },
      { type: 'text', text },
    ],
  };
}

/** A source that answers some JSON files with replaced content (e.g. another eos_token_id). */
export function withJson(source: ModelSource, overrides: Record<string, unknown>): ModelSource {
  const patched: ModelSource = {
    id: source.id,
    read: (path, options) =>
      path in overrides
        ? Promise.resolve(new TextEncoder().encode(JSON.stringify(overrides[path])))
        : source.read(path, options),
    has: (path) => (path in overrides ? Promise.resolve(true) : source.has(path)),
  };
  if (source.localPath) patched.localPath = source.localPath.bind(source);
  if (source.size) patched.size = source.size.bind(source);
  return patched;
}

/** An engine over a model folder on the CPU EP; images other than RawImage are refused as undecodable. */
export function folderEngine(
  dir: string | ModelSource,
  extra: Partial<Omit<EngineDeps, 'ort' | 'openSource' | 'selectBackend'>> = {},
): EngineApi {
  return createNodeEngine(dir, extra);
}

export async function loadedEngine(
  dir: string | ModelSource,
  extra: Parameters<typeof folderEngine>[1] = {},
) {
  const engine = folderEngine(dir, extra);
  await engine.load({ kind: 'local', id: 'test' }, { dtype: 'fp32' });
  return engine;
}
