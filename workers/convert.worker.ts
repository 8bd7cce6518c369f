// The conversion worker: runs convertHubCheckpoint (src/store/hub-conversion.ts) off the page, because the converter
// quantises on the CPU and reads safetensors headers with synchronous HTTP requests; asked to, it then checks the
// stored result as "re-verify" does. Plain postMessage: 'convert', 'check' and 'cancel' in; progress, 'done' /
// 'checked' or 'error' (code + message) out. It owns no conversion logic.
import { EngineError, isEngineError } from '../src/shared/errors';
import { verifyCachedModel } from '../src/store/cache-admin';
import { discardConversion } from '../src/store/converted-sink';
import { convertHubCheckpoint } from '../src/store/hub-conversion';
import { modelIdOf } from '../src/store/model-ref';
import type { ConvertWorkerEvent, ConvertWorkerRequest } from '../src/store/hub-conversion-protocol';

declare const self: DedicatedWorkerGlobalScope;

const post = (event: ConvertWorkerEvent): void => self.postMessage(event);
let controller: AbortController | null = null;

/** Every stored file of converted model `id` read back against the sha256 its manifest lists. */
async function check(id: string, signal: AbortSignal): Promise<void> {
  const report = await verifyCachedModel(modelIdOf({ kind: 'local', id }), {
    signal,
    onProgress: (e) => {
      if ('overall' in e) post({ type: 'check', loaded: e.overall.loaded, total: e.overall.total });
    },
  });
  if (report.ok) return;
  // What IndexedDB holds is not what was converted: the model goes whole, so it is never listed as usable.
  const bad = report.files.filter((f) => !f.ok).map((f) => f.path);
  await discardConversion(id);
  throw new EngineError(
    'integrity',
    `The converted model failed its check after it was stored (${bad.join(', ')}): the browser's storage did ` +
      'not keep what was written. It was deleted; convert it again.',
  );
}

self.onmessage = async (message: MessageEvent<ConvertWorkerRequest>) => {
  const request = message.data;
  if (request.type === 'cancel') {
    controller?.abort(new DOMException('Conversion cancelled', 'AbortError'));
    return;
  }
  if (controller !== null) return;
  controller = new AbortController();
  try {
    if (request.type === 'check') {
      await check(request.id, controller.signal);
      post({ type: 'checked', id: request.id });
      return;
    }
    const { id, result } = await convertHubCheckpoint({
      ...request.options,
      signal: controller.signal,
      onProgress: (event) => post({ type: 'progress', event }),
      onBytes: (path, bytes) => post({ type: 'bytes', path, bytes }),
      onStored: (path, bytes) => post({ type: 'stored', path, bytes }),
    });
    post({
      type: 'done',
      id,
      files: result.files.length,
      bytes: result.files.reduce((n, f) => n + f.size, 0),
    });
  } catch (error) {
    const name = (error as { name?: unknown })?.name;
    post({
      type: 'error',
      name: typeof name === 'string' ? name : 'Error',
      code: isEngineError(error) ? error.code : null,
      message: error instanceof Error || error instanceof DOMException ? error.message : String(error),
    });
  } finally {
    controller = null;
  }
};
