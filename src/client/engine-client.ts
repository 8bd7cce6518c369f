// Owns the UI's only door to the engine: starts the module worker, wraps its EngineApi with comlink, replaces a dead worker.
// It must not run models or touch ONNX/storage itself; everything goes through the worker.
import { wrap } from 'comlink';
import type { Remote } from 'comlink';
import { EngineError } from '../shared/errors';
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
} from '../shared/protocol';
import { operationSettled, registerTransferHandlers } from '../shared/transfer-handlers';

/** Things that happen to the engine outside any one call. */
export type EngineNotice =
  /** The GPU device was lost; the engine reloads the model (WebGPU again or WASM) on the next chat. */
  | { kind: 'device-lost'; message: string }
  /** The worker died; calls in flight were rejected and a fresh worker (with no model loaded) takes its place. */
  | { kind: 'worker-restarted'; reason: string };

export interface EngineClientOptions {
  /** Starts the worker: the app passes `appEngineWorker` (app-worker.ts), tests one with debug hooks, the library its own. */
  createWorker: () => Worker;
  /** How long a worker that reported an uncaught error may take to answer before it is declared dead. */
  pingTimeoutMs?: number;
}

/** The engine as the UI uses it: {@link EngineApi} plus the worker's lifecycle. */
export interface EngineClient extends EngineApi {
  /** Listens to {@link EngineNotice}s; returns the unsubscribe function. */
  onNotice(listener: (notice: EngineNotice) => void): () => void;
  /** Stops the worker and starts a fresh one; calls in flight reject with EngineError 'inference-failed'. */
  restart(reason?: string): void;
  /** Stops the worker for good; later calls start a new one. */
  dispose(): void;
}

interface LiveWorker {
  worker: Worker;
  remote: Remote<EngineApi>;
  /** Rejecters of the calls still waiting on this worker. */
  pending: Set<(error: unknown) => void>;
}

/** Longest wait for the last events of an operation after its result arrived (they travel on another port). */
const settleTimeoutMs = 2_000;

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Copies only the fields that cross the boundary, so the transfer handler recognises the options object. */
function wireOptions<E>(
  op: OperationOptions<E> | undefined,
  tap?: (event: E) => void,
): OperationOptions<E> | undefined {
  if (!op?.signal && !op?.onEvent && !tap) return undefined;
  const wire: OperationOptions<E> = {};
  if (op?.signal) wire.signal = op.signal;
  const onEvent = op?.onEvent;
  if (onEvent || tap) {
    wire.onEvent = (event) => {
      tap?.(event);
      onEvent?.(event);
    };
  }
  return wire;
}

/**
 * Creates the client. The worker starts on the first call. Every method rejects with EngineError (branch on `code`)
 * or, when its signal fires, with DOMException 'AbortError'.
 */
export function createEngineClient(options: EngineClientOptions): EngineClient {
  registerTransferHandlers();
  const createWorker = options.createWorker;
  const pingTimeoutMs = options.pingTimeoutMs ?? 15_000;
  const listeners = new Set<(notice: EngineNotice) => void>();
  let live: LiveWorker | null = null;

  const notify = (notice: EngineNotice) => {
    for (const listener of listeners) listener(notice);
  };

  function stop(target: LiveWorker, reason: string): void {
    if (live === target) live = null;
    target.worker.terminate();
    const error = new EngineError(
      'inference-failed',
      `The engine stopped (${reason}). Load the model again and retry.`,
    );
    for (const reject of target.pending) reject(error);
    target.pending.clear();
  }

  async function checkAlive(target: LiveWorker, message: string): Promise<void> {
    const answered = await Promise.race([
      target.remote.status().then(
        () => true,
        () => true,
      ),
      delay(pingTimeoutMs).then(() => false),
    ]);
    if (answered || live !== target) return;
    stop(target, message);
    notify({ kind: 'worker-restarted', reason: message });
  }

  function start(): LiveWorker {
    const worker = createWorker();
    const target: LiveWorker = { worker, remote: wrap<EngineApi>(worker), pending: new Set() };
    // An uncaught error does not always kill a worker: ask it whether it still answers before replacing it.
    worker.addEventListener('error', (event) => {
      event.preventDefault();
      void checkAlive(target, event.message || 'uncaught error in the engine worker');
    });
    worker.addEventListener('messageerror', () =>
      console.error('engine worker: a message could not be deserialized'),
    );
    return target;
  }

  function ensure(): LiveWorker {
    live ??= start();
    return live;
  }

  /** Runs one remote call, rejecting it if the worker dies, and resolving only after its last event arrived. */
  async function call<T>(run: (remote: Remote<EngineApi>) => Promise<T>, op?: object): Promise<T> {
    const target = ensure();
    let crash: (error: unknown) => void = () => {};
    const crashed = new Promise<never>((_, reject) => (crash = reject));
    target.pending.add(crash);
    const settle = () => Promise.race([operationSettled(op), delay(settleTimeoutMs)]);
    try {
      // `run` may throw before it returns a promise (an argument that cannot be cloned): that is a rejection too.
      const result = await Promise.race([Promise.resolve().then(() => run(target.remote)), crashed]);
      await settle();
      return result;
    } catch (error) {
      // A dead worker sends no more events: only wait for them when it still lives.
      if (live === target) await settle();
      throw error;
    } finally {
      target.pending.delete(crash);
    }
  }

  const onDeviceLost = (event: GenerationEvent) => {
    if (event.kind === 'device-lost') notify({ kind: 'device-lost', message: event.message });
  };

  return {
    load(
      model: ModelRef,
      loadOptions?: LoadOptions,
      op?: OperationOptions<LoadProgressEvent>,
    ): Promise<EngineStatus> {
      const wire = wireOptions(op);
      return call((remote) => remote.load(model, loadOptions, wire), wire);
    },
    unload: () => call((remote) => remote.unload()),
    status: () => call((remote) => remote.status()),
    chat(request: ChatRequest, op?: OperationOptions<GenerationEvent>): Promise<ChatResult> {
      const wire = wireOptions(op, onDeviceLost);
      return call((remote) => remote.chat(request, wire), wire);
    },
    prepare(request: ChatRequest, op?: OperationOptions<never>): Promise<PrepareResult> {
      const wire = wireOptions(op);
      return call((remote) => remote.prepare(request, wire), wire);
    },
    forget: (conversationId?: string) => call((remote) => remote.forget(conversationId)),
    onNotice(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    restart(reason = 'restarted on request') {
      if (live) stop(live, reason);
      live = start();
    },
    dispose() {
      if (live) stop(live, 'the page closed the engine');
    },
  };
}
