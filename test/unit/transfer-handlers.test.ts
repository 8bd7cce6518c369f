// The comlink transfer handlers over a real MessageChannel (Node's): EngineError codes, aborts and operation
// callbacks survive the boundary in both directions of use.
import { expose, wrap } from 'comlink';
import type { Remote } from 'comlink';
import { MessageChannel } from 'node:worker_threads';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EngineError, isEngineError } from '../../src/shared/errors';
import type { OperationOptions } from '../../src/shared/protocol';
import { endOperation, operationSettled, registerTransferHandlers } from '../../src/shared/transfer-handlers';

interface TestApi {
  failWithCode(): Promise<never>;
  failWithAbort(): Promise<never>;
  failPlain(): Promise<never>;
  waitForAbort(op?: OperationOptions<number>): Promise<string>;
  countTo(n: number, op?: OperationOptions<number>): Promise<number>;
  waitForSignal(signal: AbortSignal): Promise<string>;
}

function abortReason(signal: AbortSignal | undefined): Promise<string> {
  return new Promise((resolve) => {
    if (!(signal instanceof AbortSignal)) return resolve('no real AbortSignal arrived');
    signal.addEventListener('abort', () =>
      resolve(`${(signal.reason as Error).name}: ${(signal.reason as Error).message}`),
    );
  });
}

const api: TestApi = {
  failWithCode: async () => {
    throw new EngineError('bad-image', 'Try a PNG.', { details: { width: 0 } });
  },
  failWithAbort: async () => {
    throw new DOMException('stopped', 'AbortError');
  },
  failPlain: async () => {
    throw new TypeError('plain failure');
  },
  waitForAbort: async (op) => {
    try {
      return await abortReason(op?.signal);
    } finally {
      endOperation(op);
    }
  },
  countTo: async (n, op) => {
    try {
      for (let i = 1; i <= n; i++) op?.onEvent?.(i);
      return n;
    } finally {
      endOperation(op);
    }
  },
  waitForSignal: (signal) => abortReason(signal),
};

let ports: { close(): void }[] = [];

function connect(): Remote<TestApi> {
  const { port1, port2 } = new MessageChannel();
  ports.push(port1, port2);
  expose(api, port1 as never);
  return wrap<TestApi>(port2 as never);
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('comlink transfer handlers', () => {
  beforeAll(() => registerTransferHandlers());
  afterEach(() => {
    for (const port of ports) port.close();
    ports = [];
  });

  it('keeps an EngineError code, message and details across the boundary', async () => {
    const error = await rejection(connect().failWithCode());
    expect(isEngineError(error)).toBe(true);
    expect(error).toBeInstanceOf(EngineError);
    expect(error).toMatchObject({
      name: 'EngineError',
      code: 'bad-image',
      message: 'Try a PNG.',
      details: { width: 0 },
    });
  });

  it('turns an abort into a DOMException AbortError and keeps other errors by name', async () => {
    const remote = connect();
    const aborted = await rejection(remote.failWithAbort());
    expect(aborted).toBeInstanceOf(DOMException);
    expect(aborted).toMatchObject({ name: 'AbortError', message: 'stopped' });
    expect(await rejection(remote.failPlain())).toMatchObject({
      name: 'TypeError',
      message: 'plain failure',
    });
  });

  it('hands the receiver a real AbortSignal that fires when the caller aborts mid-call', async () => {
    const controller = new AbortController();
    const op = { signal: controller.signal };
    const pending = connect().waitForAbort(op);
    await new Promise((resolve) => setTimeout(resolve, 20));
    controller.abort(new Error('user pressed stop'));
    expect(await pending).toBe('AbortError: user pressed stop');
    await operationSettled(op);
  });

  it('delivers every event, in order, before operationSettled resolves', async () => {
    const events: number[] = [];
    const op = { onEvent: (event: number) => events.push(event) };
    const result = await connect().countTo(50, op);
    await operationSettled(op);
    expect(result).toBe(50);
    expect(events).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  });

  it('carries a signal that is already aborted, and a bare AbortSignal argument', async () => {
    const remote = connect();
    expect(await remote.waitForAbort({ signal: AbortSignal.abort(new Error('too late')) })).toBe(
      'AbortError: too late',
    );
    const controller = new AbortController();
    const pending = remote.waitForSignal(controller.signal);
    controller.abort(new Error('bare'));
    expect(await pending).toBe('AbortError: bare');
  });
});
