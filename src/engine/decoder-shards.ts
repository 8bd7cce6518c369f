// Owns loading a decoder split into shards (a converted model's config.json `llava_browser.decoder_shards`): reads
// the shard list, creates one session per shard one at a time (dropping each shard's bytes before the next), and
// wraps them in a ShardedSession. Models without shards go to createComponentSession unchanged. No inference here.
import { throwIfAborted } from '../shared/abort';
import { EngineError, isEngineError } from '../shared/errors';
import { parseDecoderShards, type DecoderShard } from '../shared/model-layout';
import { assertTensorsFit } from './buffer-limits';
import type { ModelSource } from '../shared/model-source';
import type { OrtSession, SessionOptions } from './runtime';
import { createComponentSession, type CreateSessionArgs, type LoadedSession } from './sessions';
import { SHARD_HIDDEN_OUTPUT, ShardedSession } from './sharded-session';

function bad(message: string): EngineError {
  return new EngineError('bad-model', `${message} Convert the model again with this app's converter.`);
}

/** Output locations for one shard: its own present.* as the loader asked, and the hidden states on the device too. */
function shardOutputLocations(
  shard: DecoderShard,
  last: boolean,
  requested: SessionOptions['preferredOutputLocation'],
  onDevice: boolean,
) {
  if (!onDevice || requested === undefined) return undefined;
  const loc: Record<string, 'gpu-buffer' | 'cpu'> = {};
  for (let i = shard.layers[0]; i < shard.layers[1]; i++) {
    for (const kind of ['key', 'value']) {
      const name = `present.${i}.${kind}`;
      const want = typeof requested === 'string' ? requested : requested[name];
      if (want === 'gpu-buffer' || want === 'cpu') loc[name] = want;
    }
  }
  if (!last) loc[SHARD_HIDDEN_OUTPUT] = 'gpu-buffer';
  return loc;
}

async function readConfig(source: ModelSource, signal?: AbortSignal): Promise<unknown> {
  try {
    return JSON.parse(new TextDecoder().decode(await source.read('config.json', signal ? { signal } : {})));
  } catch (cause) {
    if (signal?.aborted) throw cause;
    throw new EngineError('bad-model', "The model's config.json is not valid JSON. Re-download the model.", {
      cause,
    });
  }
}

async function createShardSession(
  args: CreateSessionArgs,
  shard: DecoderShard,
  options: SessionOptions,
): Promise<{ session: OrtSession; bytes: number }> {
  const { ort, source, signal } = args;
  const localPath = source.localPath?.(shard.file) ?? null;
  const limitCheck = { source, backend: args.backend, file: shard.file, dataFiles: shard.externalData };
  let bytes = 0;
  if (localPath !== null) {
    for (const f of [shard.file, ...shard.externalData]) bytes += (await source.size?.(f)) ?? 0;
    await assertTensorsFit({ ...limitCheck, ...(signal ? { signal } : {}) });
    throwIfAborted(signal);
    return { session: await ort.InferenceSession.create(localPath, options), bytes };
  }
  const model = await source.read(shard.file, signal ? { signal } : {});
  bytes += model.byteLength;
  await assertTensorsFit({ ...limitCheck, model, ...(signal ? { signal } : {}) });
  const externalData = [];
  for (const f of shard.externalData) {
    const data = await source.read(f, signal ? { signal } : {});
    bytes += data.byteLength;
    externalData.push({ path: f.slice(f.lastIndexOf('/') + 1), data });
  }
  throwIfAborted(signal);
  const session = await ort.InferenceSession.create(
    model,
    externalData.length > 0 ? { ...options, externalData } : options,
  );
  return { session, bytes };
}

/**
 * Like {@link createComponentSession}, but for `decoder_model_merged` of a model whose config.json lists decoder
 * shards it returns one {@link ShardedSession} over them, created shard by shard. Everything else is passed on.
 * @throws EngineError('bad-model') when a shard is missing or the runtime rejects it; AbortError when aborted.
 */
export async function createDecoderAwareSession(args: CreateSessionArgs): Promise<LoadedSession> {
  if (args.component !== 'decoder_model_merged') return createComponentSession(args);
  const list = parseDecoderShards(await readConfig(args.source, args.signal));
  if (list === null) return createComponentSession(args);
  const { backend, signal } = args;
  const sessions: OrtSession[] = [];
  let bytes = 0;
  try {
    for (const [k, shard] of list.shards.entries()) {
      throwIfAborted(signal);
      if (!(await args.source.has(shard.file)))
        throw bad(`The model lists decoder shard ${shard.file}, but it is missing.`);
      const { preferredOutputLocation: requested, ...rest } = args.options ?? {};
      const location = shardOutputLocations(
        shard,
        k === list.shards.length - 1,
        requested,
        backend.keepKvOnDevice,
      );
      const options: SessionOptions = {
        ...backend.sessionOptions,
        executionProviders: backend.executionProviders,
        ...rest,
        ...(location ? { preferredOutputLocation: location } : {}),
      };
      try {
        const created = await createShardSession(args, shard, options);
        sessions.push(created.session);
        bytes += created.bytes;
      } catch (cause) {
        if (signal?.aborted || isEngineError(cause)) throw cause;
        throw new EngineError(
          'bad-model',
          `The decoder shard ${shard.file} could not be opened on ${backend.name}. Re-download the model or pick another precision.`,
          { cause, details: { file: shard.file, backend: backend.name } },
        );
      }
    }
  } catch (error) {
    await Promise.all(sessions.map((s) => s.release().catch(() => undefined)));
    throw error;
  }
  return {
    component: 'decoder_model_merged',
    dtype: list.dtype,
    file: list.shards[0]!.file,
    session: new ShardedSession(sessions),
    bytes,
  };
}
