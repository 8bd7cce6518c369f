// Test page script: drives the real engine client against the debug worker and returns plain, serialisable outcomes
// to Playwright. Built only into the e2e build (test/e2e/harness/build-app.ts); the app never imports it.
import { wrap } from 'comlink';
import type { Remote } from 'comlink';
import { createEngineClient } from '../../../src/client/engine-client';
import type { EngineNotice } from '../../../src/client/engine-client';
import { isEngineError } from '../../../src/shared/errors';
import type {
  ChatMessage,
  ChatRequest,
  ContentPart,
  GenerationEvent,
  LoadOptions,
  LoadProgressEvent,
  ModelRef,
} from '../../../src/shared/protocol';
import type { ArmedFault, DebugApi } from '../../../workers/debug-api';

/** An image as a test describes it: raw pixels (as numbers, so they survive page.evaluate) and how to hand them over. */
export interface TestImage {
  as: 'raw' | 'png' | 'corrupt';
  width: number;
  height: number;
  rgba: number[];
}

/** An image handed over once with `storeImage`, so a request need not carry its pixels through page.evaluate. */
export interface StoredTestImage {
  as: 'stored';
  key: string;
}

export type TestPart = { type: 'text'; text: string } | { type: 'image'; image: TestImage | StoredTestImage };
export interface TestMessage {
  role: ChatMessage['role'];
  content: string | TestPart[];
}
export type TestChatRequest = Omit<ChatRequest, 'messages'> & { messages: TestMessage[] };

export interface ErrorInfo {
  name: string;
  code: string | null;
  message: string;
}
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: ErrorInfo };

export interface ChatRun<T> {
  outcome: Outcome<T>;
  events: GenerationEvent[];
  /** performance.now() around the call, to match long tasks against. */
  startedAt: number;
  endedAt: number;
}

export interface ChatOptions {
  interrupt?: 'abort' | 'lose-device' | 'gpu-error' | 'crash';
  /** Token events to wait for before interrupting; default 1. */
  after?: number;
}

let debug: Remote<DebugApi> | null = null;
const client = createEngineClient({
  // The crash test waits for this; the app keeps the longer default.
  pingTimeoutMs: 1_500,
  createWorker: () => {
    const worker = new Worker(new URL('../../../workers/debug-engine.worker.ts', import.meta.url), {
      type: 'module',
      name: 'llava-engine-debug',
    });
    debug = wrap<DebugApi>(worker);
    return worker;
  },
});
const notices: EngineNotice[] = [];
client.onNotice((notice) => notices.push(notice));

const longTasks: { startTime: number; duration: number }[] = [];
new PerformanceObserver((list) => {
  for (const entry of list.getEntries())
    longTasks.push({ startTime: entry.startTime, duration: entry.duration });
}).observe({ type: 'longtask', buffered: true });

function errorInfo(error: unknown): ErrorInfo {
  const name = (error as { name?: unknown })?.name;
  return {
    name: typeof name === 'string' ? name : typeof error,
    code: isEngineError(error) ? error.code : null,
    message: error instanceof Error || error instanceof DOMException ? error.message : String(error),
  };
}

async function outcome<T>(run: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await run() };
  } catch (error) {
    return { ok: false, error: errorInfo(error) };
  }
}

const storedImages = new Map<string, ContentPart & { type: 'image' }>();

async function toImage(image: TestImage | StoredTestImage): Promise<ContentPart & { type: 'image' }> {
  if (image.as === 'stored') {
    const part = storedImages.get(image.key);
    if (!part) throw new Error(`no image stored as ${image.key}`);
    return part;
  }
  const data = Uint8ClampedArray.from(image.rgba);
  if (image.as === 'raw') return { type: 'image', image: { width: image.width, height: image.height, data } };
  if (image.as === 'corrupt')
    return { type: 'image', image: new Blob([data.slice(0, 64)], { type: 'image/png' }) };
  const canvas = new OffscreenCanvas(image.width, image.height);
  const context = canvas.getContext('2d');
  if (!context) throw new Error('no 2d context');
  context.putImageData(new ImageData(data, image.width, image.height), 0, 0);
  return { type: 'image', image: await canvas.convertToBlob({ type: 'image/png' }) };
}

async function toRequest(request: TestChatRequest): Promise<ChatRequest> {
  const messages: ChatMessage[] = [];
  for (const message of request.messages) {
    if (typeof message.content === 'string') {
      messages.push({ role: message.role, content: message.content });
      continue;
    }
    const parts: ContentPart[] = [];
    for (const part of message.content) parts.push(part.type === 'text' ? part : await toImage(part.image));
    messages.push({ role: message.role, content: parts });
  }
  return { ...request, messages };
}

function requireDebug(): Remote<DebugApi> {
  if (!debug) throw new Error('the worker has not started yet');
  return debug;
}

const harness = {
  load: async (model: ModelRef, options?: LoadOptions) => {
    const events: LoadProgressEvent[] = [];
    const result = await outcome(() =>
      client.load(model, options, { onEvent: (event) => events.push(event) }),
    );
    return { outcome: result, events };
  },

  /**
   * Chats. Once `after` token events arrived, `interrupt` happens mid-generation: 'abort' fires the call's signal,
   * 'lose-device' destroys the GPU device, 'gpu-error' makes it raise an uncaptured error, 'crash' kills the worker.
   */
  chat: async (request: TestChatRequest, options: ChatOptions = {}) => {
    const events: GenerationEvent[] = [];
    const controller = new AbortController();
    let interrupted = false;
    const chatRequest = await toRequest(request);
    const startedAt = performance.now();
    const result = await outcome(() =>
      client.chat(chatRequest, {
        signal: controller.signal,
        onEvent: (event) => {
          events.push(event);
          const tokens = events.filter((e) => e.kind === 'token').length;
          if (options.interrupt && !interrupted && event.kind === 'token' && tokens >= (options.after ?? 1)) {
            interrupted = true;
            if (options.interrupt === 'abort') controller.abort();
            else if (options.interrupt === 'lose-device') void requireDebug().debugLoseDevice();
            else if (options.interrupt === 'gpu-error') void requireDebug().debugGpuError('after-run');
            else void requireDebug().debugCrash();
          }
        },
      }),
    );
    return { outcome: result, events, startedAt, endedAt: performance.now() };
  },

  /** Works ahead on a draft (the last user message), as the app does while a question is typed. */
  prepare: async (request: TestChatRequest) => {
    const prepared = await toRequest(request);
    return outcome(() => client.prepare(prepared));
  },

  storeImage: async (key: string, image: TestImage) => {
    storedImages.set(key, await toImage(image));
  },

  status: () => outcome(() => client.status()),
  unload: () => outcome(() => client.unload()),
  counters: () => requireDebug().debugCounters(),
  loseDevice: () => requireDebug().debugLoseDevice(),
  crash: () => requireDebug().debugCrash(),
  ortFiles: () => requireDebug().debugOrtFiles(),
  gpuError: (when: 'now' | 'after-run') => requireDebug().debugGpuError(when),
  armFault: (fault: ArmedFault) => requireDebug().debugArmFault(fault),
  recordRuns: (on: boolean) => requireDebug().debugRecordRuns(on),
  bufferLimits: () => requireDebug().debugBufferLimits(),
  shrinkBufferLimits: (bytes: number | null) => requireDebug().debugShrinkBufferLimits(bytes),
  notices: () => [...notices],
  longTasks: (from: number, to: number) =>
    longTasks.filter((task) => task.startTime + task.duration >= from && task.startTime <= to),
};

export type Harness = typeof harness;
(globalThis as unknown as { harness: Harness }).harness = harness;
