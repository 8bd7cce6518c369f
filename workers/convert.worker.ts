// The conversion worker: runs convertHubCheckpoint (src/store/hub-conversion.ts) off the page, because the converter
// quantises on the CPU and reads safetensors headers with synchronous HTTP requests. Plain postMessage: 'convert' and
// 'cancel' in; progress, 'done' or 'error' (code + message) out. It owns no conversion logic.
import { isEngineError } from '../src/shared/errors';
import { convertHubCheckpoint } from '../src/store/hub-conversion';
import type { ConvertWorkerEvent, ConvertWorkerRequest } from '../src/store/hub-conversion-protocol';

declare const self: DedicatedWorkerGlobalScope;

const post = (event: ConvertWorkerEvent): void => self.postMessage(event);
let controller: AbortController | null = null;

self.onmessage = async (message: MessageEvent<ConvertWorkerRequest>) => {
  const request = message.data;
  if (request.type === 'cancel') {
    controller?.abort(new DOMException('Conversion cancelled', 'AbortError'));
    return;
  }
  if (controller !== null) return;
  controller = new AbortController();
  try {
    const { id, result } = await convertHubCheckpoint({
      ...request.options,
      signal: controller.signal,
      onProgress: (event) => post({ type: 'progress', event }),
      onBytes: (path, bytes) => post({ type: 'bytes', path, bytes }),
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
