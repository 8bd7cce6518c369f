// Owns keeping the worker responsive while a model runs: every session.run() ends with a hop through the event loop.
// It must not change what runs or its results; it only delays each result by one message task.
import type { OrtRuntime, OrtSession } from '../src/engine/runtime';

/**
 * ORT's WASM EP computes inside run() and resolves through microtasks only, so a decode loop of awaited runs never
 * lets the worker take a message: an abort, a status call or a debug hook would wait for the whole answer. A message
 * to ourselves queues behind the messages already waiting, without setTimeout's 4 ms clamp on nested timers.
 */
function createYield(): () => Promise<void> {
  const channel = new MessageChannel();
  const waiting: (() => void)[] = [];
  channel.port1.onmessage = () => waiting.shift()?.();
  return () =>
    new Promise<void>((resolve) => {
      waiting.push(resolve);
      channel.port2.postMessage(null);
    });
}

/**
 * `session` with its run() replaced by `run` and every other member passed through (methods bound to the session,
 * so that ORT's own calls on it keep working). The worker's debug build wraps sessions the same way.
 */
export function withRun(session: OrtSession, run: OrtSession['run']): OrtSession {
  return new Proxy(session, {
    get(target, property) {
      if (property === 'run') return run;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

function yieldingSession(session: OrtSession, yieldToEvents: () => Promise<void>): OrtSession {
  const run = (async (...args: Parameters<OrtSession['run']>) => {
    const outputs = await session.run(...args);
    await yieldToEvents();
    return outputs;
  }) as OrtSession['run'];
  return withRun(session, run);
}

/** The same runtime, whose sessions yield to the worker's event loop after every run. */
export function yieldingRuntime(ort: OrtRuntime): OrtRuntime {
  const yieldToEvents = createYield();
  const create = ort.InferenceSession.create.bind(ort.InferenceSession);
  return {
    Tensor: ort.Tensor,
    InferenceSession: {
      create: (async (...args: Parameters<typeof create>) =>
        yieldingSession(await create(...args), yieldToEvents)) as typeof ort.InferenceSession.create,
    },
  };
}
