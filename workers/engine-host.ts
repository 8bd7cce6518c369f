// Owns the worker-side face of the engine: ends each operation's event channel and survives GPU faults (a lost
// device, errors the device raises). It must not run models itself: it forwards to the engine core and only decides
// when to reload and which EngineError a GPU fault becomes.
import { isAbortError } from '../src/shared/abort';
import { EngineError, isEngineError } from '../src/shared/errors';
import type {
  ChatRequest,
  ChatResult,
  EngineApi,
  EngineStatus,
  GenerationEvent,
  LoadOptions,
  LoadProgressEvent,
  ModelRef,
  OperationOptions,
  PrepareResult,
} from '../src/shared/protocol';
import { endOperation } from '../src/shared/transfer-handlers';
import type { DeviceLoss, GpuError, GpuFaultSource } from './gpu-faults';

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

const lostWhileLoadingMessage = (loss: DeviceLoss) =>
  `The GPU stopped responding while the model was loading (${loss.message}). Load it again; if this keeps ` +
  'happening, choose the WASM backend.';

const gpuErrorMessage = (error: GpuError, during: 'load' | 'chat') =>
  during === 'load'
    ? `The GPU reported an error while building the model (${error.message}). The model may not fit this GPU: ` +
      'choose a smaller or more strongly quantized variant, or the WASM backend.'
    : `The GPU reported an error while answering (${error.message}). Ask again; if this keeps happening, reload ` +
      'the model or choose the WASM backend.';

/** Failures that a GPU fault may hide behind: session creation or a run, not a download or a refusal. */
const mayBeGpuFault = (error: unknown) =>
  !isAbortError(error) &&
  (!isEngineError(error) || error.code === 'bad-model' || error.code === 'inference-failed');

/** What the GPU did wrong while one operation ran on it; `fault` fires at the first loss or error. */
interface FaultLog {
  during: 'load' | 'chat';
  loss: DeviceLoss | null;
  errors: GpuError[];
  fault: AbortController;
}

const faultLog = (during: FaultLog['during']): FaultLog => ({
  during,
  loss: null,
  errors: [],
  fault: new AbortController(),
});

/** Runs `work`, then always closes the operation's channel so the client knows every event has arrived. */
async function withOperation<T>(op: object | undefined, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } finally {
    endOperation(op);
  }
}

type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

async function outcomeOf<T>(work: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await work() };
  } catch (error) {
    return { ok: false, error };
  }
}

/**
 * Wraps `engine` for exposure: the same EngineApi, plus recovery from GPU faults.
 * - A loss during a chat rejects that chat with 'device-lost' after a `device-lost` event; a loss while idle is
 *   announced by the next chat. Either way the next chat reloads the last model (WebGPU again, WASM after repeated
 *   losses) and answers.
 * - A loss while loading rejects the load with 'device-lost'; the model loaded before comes back at the next chat.
 * - An uncaptured GPU error during a chat stops it with 'inference-failed' and drops that conversation's KV cache;
 *   during a load it rejects the load with 'inference-failed' and puts the model loaded before back.
 */
export function createEngineHost(engine: EngineApi, backend: GpuFaultSource): EngineApi {
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
  /** The operation running on the GPU now, if any: the faults the device reports meanwhile are its own. */
  let watch: FaultLog | null = null;

  backend.onDeviceLost((loss) => {
    if (watch?.during === 'load') {
      watch.loss ??= loss;
      watch.fault.abort();
      losses += 1;
      return;
    }
    if (!modelOnGpu) return;
    modelOnGpu = false;
    losses += 1;
    pendingLoss = { loss, announced: false };
    lossAbort.abort(new EngineError('device-lost', lostMessage(loss)));
  });

  backend.onUncapturedError((error) => {
    // While idle nothing ran that the error could have spoiled (the selector logs it).
    if (!watch) return;
    watch.errors.push(error);
    watch.fault.abort();
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

  async function load(
    model: ModelRef,
    options: LoadOptions,
    op: OperationOptions<LoadProgressEvent> | undefined,
  ): Promise<EngineStatus> {
    // A model on a dead device cannot stay if this load fails: drop it now (lastLoad still names it).
    if (pendingLoss) await engine.unload().catch(() => undefined);
    modelOnGpu = false;
    const onGpu = options.device !== 'wasm' && options.device !== 'cpu';
    const log = faultLog('load');
    if (onGpu) await backend.settle();
    if (onGpu) watch = log;
    let result: Outcome<EngineStatus>;
    try {
      result = await outcomeOf(() => engine.load(model, options, op));
      if (onGpu) {
        // WebGPU reports errors and losses after the work that caused them: let them arrive before judging.
        await backend.settle();
        if (!result.ok && mayBeGpuFault(result.error)) await abortedWithin(log.fault.signal, lossGraceMs);
      }
    } finally {
      if (watch === log) watch = null;
    }
    const cause = result.ok ? {} : { cause: result.error };
    if (log.loss) {
      await engine.unload().catch(() => undefined);
      modelOnGpu = false;
      // As after any loss, the next chat rebuilds the model that was loaded before, on a fresh device.
      pendingLoss = lastLoad ? { loss: log.loss, announced: true } : null;
      lossAbort = new AbortController();
      throw new EngineError('device-lost', lostWhileLoadingMessage(log.loss), cause);
    }
    const gpuError = log.errors[0];
    if (gpuError) {
      if (result.ok) {
        // Built, but the GPU failed part of the work: it would fail (or answer wrongly) at its first run.
        await engine.unload().catch(() => undefined);
        if (lastLoad) await engine.load(lastLoad.model, lastLoad.options).catch(() => undefined);
      }
      track(await engine.status());
      throw new EngineError('inference-failed', gpuErrorMessage(gpuError, 'load'), {
        ...cause,
        details: { gpuError: gpuError.kind },
      });
    }
    if (!result.ok) {
      // The engine put the previous model back (or has none): report what is really loaded.
      track(await engine.status());
      throw result.error;
    }
    pendingLoss = null;
    lossAbort = new AbortController();
    lastLoad = { model, options };
    return track(result.value);
  }

  /**
   * Runs one engine operation with the GPU's faults attributed to it (on a model that lives on the GPU): faults of
   * earlier work are let in first, and the signal `work` gets also fires on a device loss or a fault while it runs.
   * `whileWatched` runs before the watch ends, to let faults that arrive late still count.
   */
  async function watchedRun<T>(
    callerSignal: AbortSignal | undefined,
    work: (signal: AbortSignal) => Promise<T>,
    whileWatched: (outcome: Outcome<T>, cut: AbortSignal) => Promise<void>,
  ): Promise<{ result: Outcome<T>; log: FaultLog; cut: AbortSignal }> {
    const cut = lossAbort.signal;
    const onGpu = modelOnGpu;
    const log = faultLog('chat');
    // Errors from before this operation may still be on their way: let them arrive (and be ignored) first.
    if (onGpu) await backend.settle();
    if (onGpu) watch = log;
    const signal = AbortSignal.any([cut, log.fault.signal, ...(callerSignal ? [callerSignal] : [])]);
    let result: Outcome<T>;
    try {
      result = await outcomeOf(() => work(signal));
      if (onGpu) await whileWatched(result, cut);
    } finally {
      if (watch === log) watch = null;
    }
    return { result, log, cut };
  }

  async function chat(request: ChatRequest, op?: OperationOptions<GenerationEvent>): Promise<ChatResult> {
    await recover(op?.onEvent);
    const { result, log, cut } = await watchedRun(
      op?.signal,
      (signal) => {
        const inner: OperationOptions<GenerationEvent> = { signal };
        if (op?.onEvent) inner.onEvent = op.onEvent;
        return engine.chat(request, inner);
      },
      // A run on a destroyed device may fail before the loss is reported: give the loss a moment to arrive.
      async (outcome, cut) => {
        if (!outcome.ok && !op?.signal?.aborted) await abortedWithin(cut, lossGraceMs);
      },
    );
    if (result.ok && log.errors.length === 0) return result.value;
    const error = result.ok ? undefined : result.error;
    if (op?.signal?.aborted) throw error;
    if (cut.aborted) {
      // The device died under this chat: say so once here; the next chat reloads and answers.
      const lost = pendingLoss;
      if (lost && !lost.announced) {
        lost.announced = true;
        op?.onEvent?.({ kind: 'device-lost', message: lostMessage(lost.loss) });
      }
      throw isAbortError(error) || !isEngineError(error) || error.code !== 'device-lost'
        ? new EngineError(
            'device-lost',
            lost ? lostMessage(lost.loss) : 'The GPU stopped responding. Ask again.',
            { cause: error },
          )
        : error;
    }
    const gpuError = log.errors[0];
    if (gpuError) {
      // This conversation's KV cache may hold what the failed work wrote: the next turn prefills afresh.
      await engine.forget(request.conversationId).catch(() => undefined);
      throw new EngineError('inference-failed', gpuErrorMessage(gpuError, 'chat'), {
        cause: error,
        details: { gpuError: gpuError.kind },
      });
    }
    throw error;
  }

  /**
   * Work ahead is skipped on a lost device (the next chat recovers first); a GPU error while it runs drops the
   * conversation's cache, since that work may have written garbage into it.
   */
  async function prepare(request: ChatRequest, op?: OperationOptions<never>): Promise<PrepareResult> {
    if (pendingLoss) return { cachedTokens: 0 };
    const { result, log, cut } = await watchedRun(
      op?.signal,
      (signal) => engine.prepare(request, { signal }),
      // Nothing waits on this work: let every fault it caused arrive before judging it.
      () => backend.settle(),
    );
    if (log.errors.length > 0 || log.fault.signal.aborted || cut.aborted) {
      await engine.forget(request.conversationId).catch(() => undefined);
      return { cachedTokens: 0 };
    }
    if (!result.ok) throw result.error;
    return result.value;
  }

  // One operation at a time here too (the engine queues its own): a fault then belongs to the one that is running.
  let queue: Promise<unknown> = Promise.resolve();
  function serial<T>(work: () => Promise<T>): Promise<T> {
    const run = queue.then(work, work);
    queue = run.catch(() => undefined);
    return run;
  }

  return {
    load: (model, options = {}, op) => withOperation(op, () => serial(() => load(model, options, op))),
    unload: () =>
      serial(() => {
        lastLoad = null;
        modelOnGpu = false;
        return engine.unload();
      }),
    status: () => engine.status(),
    forget: (conversationId) => serial(() => engine.forget(conversationId)),
    chat: (request, op) => withOperation(op, () => serial(() => chat(request, op))),
    prepare: (request, op) => withOperation(op, () => serial(() => prepare(request, op))),
  };
}
