// Owns how errors, AbortSignals and operation callbacks cross the comlink boundary (registered on both sides).
// It must not know the engine: it moves EngineError codes, aborts and events, nothing else.
import { transferHandlers } from 'comlink';
import type { TransferHandler } from 'comlink';
import { abortError, isAbortError } from './abort';
import { EngineError, isEngineError } from './errors';
import type { EngineErrorData } from './errors';

type SerializedThrow =
  | { kind: 'engine'; data: EngineErrorData }
  | { kind: 'abort'; message: string }
  | { kind: 'error'; name: string; message: string; stack: string | undefined }
  | { kind: 'value'; value: unknown };

/** The wrapper comlink puts around a thrown value: `{ value, [Symbol('Comlink.thrown')]: 0 }`. */
function isThrownWrapper(value: unknown): value is { value: unknown } {
  return (
    typeof value === 'object' &&
    value !== null &&
    Object.getOwnPropertySymbols(value).some((symbol) => symbol.description === 'Comlink.thrown')
  );
}

/** Details must survive structured cloning; anything else is dropped rather than failing the whole reply. */
function cloneableDetails(details: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (details === undefined) return undefined;
  try {
    return structuredClone(details);
  } catch {
    return undefined;
  }
}

function serializeThrown(thrown: unknown): SerializedThrow {
  if (isEngineError(thrown)) {
    const details = cloneableDetails(thrown.details);
    return {
      kind: 'engine',
      data: details
        ? { code: thrown.code, message: thrown.message, details }
        : { code: thrown.code, message: thrown.message },
    };
  }
  if (isAbortError(thrown))
    return { kind: 'abort', message: (thrown as { message?: string }).message ?? 'Aborted' };
  if (thrown instanceof Error)
    return { kind: 'error', name: thrown.name, message: thrown.message, stack: thrown.stack };
  return { kind: 'value', value: thrown };
}

function reviveThrown(serialized: SerializedThrow): unknown {
  switch (serialized.kind) {
    case 'engine':
      return EngineError.fromJSON(serialized.data);
    case 'abort':
      return abortError(serialized.message);
    case 'error': {
      const error = new Error(serialized.message);
      error.name = serialized.name;
      if (serialized.stack !== undefined) error.stack = serialized.stack;
      return error;
    }
    case 'value':
      return serialized.value;
  }
}

/** Replaces comlink's 'throw' handler, which keeps only name/message/stack and so would lose `code`. */
const throwHandler: TransferHandler<{ value: unknown }, SerializedThrow> = {
  canHandle: isThrownWrapper,
  serialize: ({ value }) => [serializeThrown(value), []],
  deserialize: (serialized) => {
    throw reviveThrown(serialized);
  },
};

/** Messages on an operation's private channel; one port keeps their order. */
type OperationMessage =
  { type: 'abort'; reason: string } | { type: 'event'; event: unknown } | { type: 'end' };

interface OperationWire {
  port: MessagePort;
  hasSignal: boolean;
  hasEvents: boolean;
}

/** The `{signal?, onEvent?}` options every long EngineApi call takes. */
export interface OperationLike {
  signal?: AbortSignal;
  onEvent?: (event: never) => void;
}

function isOperation(value: unknown): value is OperationLike {
  if (typeof value !== 'object' || value === null || Object.getPrototypeOf(value) !== Object.prototype)
    return false;
  const keys = Object.keys(value);
  if (keys.length === 0 || !keys.every((key) => key === 'signal' || key === 'onEvent')) return false;
  const { signal, onEvent } = value as { signal?: unknown; onEvent?: unknown };
  const signalOk =
    signal === undefined || (typeof AbortSignal !== 'undefined' && signal instanceof AbortSignal);
  const eventsOk = onEvent === undefined || typeof onEvent === 'function';
  return signalOk && eventsOk && (signal !== undefined || onEvent !== undefined);
}

function reasonText(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  return reason instanceof Error || reason instanceof DOMException
    ? reason.message
    : String(reason ?? 'Aborted');
}

/** Sender side: resolves when the receiver said the operation ended (every event before it has been delivered). */
const operationEnds = new WeakMap<object, Promise<void>>();
/** Receiver side: tells the sender the operation ended, and closes the channel. */
const operationClosers = new WeakMap<object, () => void>();

const operationHandler: TransferHandler<OperationLike, OperationWire> = {
  canHandle: isOperation,
  serialize(op) {
    const { port1, port2 } = new MessageChannel();
    const { signal } = op;
    const onEvent = op.onEvent as ((event: unknown) => void) | undefined;
    const onAbort = () =>
      port1.postMessage({
        type: 'abort',
        reason: signal ? reasonText(signal) : '',
      } satisfies OperationMessage);
    let finish = () => {};
    operationEnds.set(op, new Promise<void>((resolve) => (finish = resolve)));
    port1.onmessage = (message: MessageEvent<OperationMessage>) => {
      const data = message.data;
      if (data.type === 'event') {
        try {
          onEvent?.(data.event);
        } catch (error) {
          // A failing UI callback must not break the channel or the engine's operation.
          console.error(error);
        }
      } else if (data.type === 'end') {
        signal?.removeEventListener('abort', onAbort);
        port1.close();
        finish();
      }
    };
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    return [{ port: port2, hasSignal: signal !== undefined, hasEvents: onEvent !== undefined }, [port2]];
  },
  deserialize({ port, hasSignal, hasEvents }) {
    const controller = hasSignal ? new AbortController() : undefined;
    port.onmessage = (message: MessageEvent<OperationMessage>) => {
      if (message.data.type === 'abort') controller?.abort(abortError(message.data.reason));
    };
    const op: { signal?: AbortSignal; onEvent?: (event: unknown) => void } = {};
    if (controller) op.signal = controller.signal;
    if (hasEvents)
      op.onEvent = (event) => port.postMessage({ type: 'event', event } satisfies OperationMessage);
    operationClosers.set(op, () => {
      port.postMessage({ type: 'end' } satisfies OperationMessage);
      port.close();
    });
    return op;
  },
};

/** A bare AbortSignal argument: the receiver gets a real AbortSignal that fires when the sender's does. */
const abortSignalHandler: TransferHandler<AbortSignal, MessagePort> = {
  canHandle: (value): value is AbortSignal =>
    typeof AbortSignal !== 'undefined' && value instanceof AbortSignal,
  serialize(signal) {
    const { port1, port2 } = new MessageChannel();
    const onAbort = () => {
      port1.postMessage(reasonText(signal));
      port1.close();
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    return [port2, [port2]];
  },
  deserialize(port) {
    const controller = new AbortController();
    port.onmessage = (message: MessageEvent<string>) => {
      controller.abort(abortError(message.data));
      port.close();
    };
    return controller.signal;
  },
};

let registered = false;

/** Registers the handlers; call once in the worker and once in the client before the first call. Idempotent. */
export function registerTransferHandlers(): void {
  if (registered) return;
  registered = true;
  // Map.set on the existing 'throw' key keeps its place, so ours is tried where comlink's was.
  transferHandlers.set('throw', throwHandler as TransferHandler<unknown, unknown>);
  transferHandlers.set('llava-operation', operationHandler as TransferHandler<unknown, unknown>);
  transferHandlers.set('llava-abort-signal', abortSignalHandler as TransferHandler<unknown, unknown>);
}

/**
 * Sender side: resolves once the receiver called {@link endOperation} for `op`, i.e. after its last event arrived.
 * Resolves at once for an options object that did not cross (no signal, no callback).
 */
export function operationSettled(op: object | undefined): Promise<void> {
  return (op && operationEnds.get(op)) ?? Promise.resolve();
}

/** Receiver side: the operation is over; flushes the end marker after every event it sent. Safe to call twice. */
export function endOperation(op: object | undefined): void {
  if (!op) return;
  const close = operationClosers.get(op);
  operationClosers.delete(op);
  close?.();
}
