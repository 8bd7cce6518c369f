// Owns the worker-side face of the engine: ends each operation's event channel and survives a lost GPU device.
// It must not run models itself: it forwards to the engine core and only decides when to reload after a device loss.
import { isAbortError } from '../src/shared/abort';
import { EngineError } from '../src/shared/errors';
import type {
  ChatRequest,
  EngineApi,
  EngineStatus,
  GenerationEvent,
  LoadOptions,
  ModelRef,
  OperationOptions,
} from '../src/shared/protocol';
import { endOperation } from '../src/shared/transfer-handlers';
import type { BackendSelector, DeviceLoss } from './backend';

/** After this many losses in one worker, stop trusting the GPU and reload on WASM. */
const lossesBeforeWasm = 2;

/**
 * A run on a destroyed device fails before `device.lost` settles; wait this long for the loss before treating the
 * failure as an ordinary one.
 */
const lossGraceMs = 500;

/** Resolves when `signal` fires or after `ms`, whichever is first. */
function abortedWithin(signal: AbortSignal, ms: number): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });
}

const lostMessage = (loss: DeviceLoss) =>
  `The GPU stopped responding (${loss.message}). The model is reloaded and your conversation continues.`;

/** Runs `work`, then always closes the operation's channel so the client knows every event has arrived. */
async function withOperation<T>(op: object | undefined, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } finally {
    endOperation(op);
  }
}

/**
 * Wraps `engine` for exposure: the same EngineApi, plus recovery from GPU device loss. A loss during a chat rejects
 * that chat with EngineError 'device-lost' after a `device-lost` event; a loss while idle is announced by the next
 * chat. Either way the next chat reloads the last model (WebGPU again, WASM after repeated losses) and answers.
 */
export function createEngineHost(engine: EngineApi, backend: BackendSelector): EngineApi {
  let lastLoad: { model: ModelRef; options: LoadOptions } | null = null;
  let pendingLoss: { loss: DeviceLoss; announced: boolean } | null = null;
  let losses = 0;
  /** Whether the loaded model's sessions live on the GPU device: only then is a loss news. */
  let modelOnGpu = false;
  const track = (status: EngineStatus) => {
    modelOnGpu = status.backend === 'webgpu';
    return status;
  };
  /** Fires when the device in use is lost, to cut a chat short instead of waiting on a dead GPU. */
  let lossAbort = new AbortController();

  backend.onDeviceLost((loss) => {
    if (!modelOnGpu) return;
    modelOnGpu = false;
    losses += 1;
    pendingLoss = { loss, announced: false };
    lossAbort.abort(new EngineError('device-lost', lostMessage(loss)));
  });

  async function recover(onEvent: ((event: GenerationEvent) => void) | undefined): Promise<void> {
    const lost = pendingLoss;
    if (!lost) return;
    if (!lost.announced) onEvent?.({ kind: 'device-lost', message: lostMessage(lost.loss) });
    pendingLoss = null;
    lossAbort = new AbortController();
    // Sessions on a dead device are useless; release them before building new ones.
    await engine.unload().catch(() => undefined);
    if (!lastLoad) return;
    const { model, options } = lastLoad;
    const device = losses >= lossesBeforeWasm ? 'wasm' : (options.device ?? 'auto');
    try {
      track(await engine.load(model, { ...options, device }));
    } catch (error) {
      if (device === 'wasm') throw error;
      track(await engine.load(model, { ...options, device: 'wasm' }));
    }
  }

  return {
    load(model, options = {}, op) {
      return withOperation(op, async () => {
        // A fresh load builds fresh sessions: an earlier loss needs no recovery any more.
        pendingLoss = null;
        lossAbort = new AbortController();
        modelOnGpu = false;
        const status = track(await engine.load(model, options, op));
        lastLoad = { model, options };
        return status;
      });
    },
    unload() {
      lastLoad = null;
      modelOnGpu = false;
      return engine.unload();
    },
    status: () => engine.status(),
    forget: (conversationId) => engine.forget(conversationId),
    chat(request: ChatRequest, op?: OperationOptions<GenerationEvent>) {
      return withOperation(op, async () => {
        await recover(op?.onEvent);
        const cut = lossAbort.signal;
        const onGpu = modelOnGpu;
        const signal = op?.signal ? AbortSignal.any([op.signal, cut]) : cut;
        const inner: OperationOptions<GenerationEvent> = { signal };
        if (op?.onEvent) inner.onEvent = op.onEvent;
        try {
          return await engine.chat(request, inner);
        } catch (error) {
          if (op?.signal?.aborted) throw error;
          if (onGpu) await abortedWithin(cut, lossGraceMs);
          if (!cut.aborted) throw error;
          // The device died under this chat: say so once here; the next chat reloads and answers.
          const lost = pendingLoss;
          if (lost && !lost.announced) {
            lost.announced = true;
            op?.onEvent?.({ kind: 'device-lost', message: lostMessage(lost.loss) });
          }
          throw isAbortError(error) || !(error instanceof EngineError) || error.code !== 'device-lost'
            ? new EngineError(
                'device-lost',
                lost ? lostMessage(lost.loss) : 'The GPU stopped responding. Ask again.',
                { cause: error },
              )
            : error;
        }
      });
    },
  };
}
