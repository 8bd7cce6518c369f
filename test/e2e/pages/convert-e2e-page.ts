// Test page script for test/e2e/convert-browser.test.ts: runs the product's conversion worker against the hub
// look-alike, reads what it stored, then loads the stored model in the engine worker (through the weight store) and
// chats greedily, returning plain results to Playwright.
import type { ConversionPlan } from '../../../src/modelgen/convert/conversion-plan';
import type { HeaviestTensor } from '../../../src/modelgen/convert/data-pass';
import { createEngineClient } from '../../../src/client/engine-client';
import { isEngineError } from '../../../src/shared/errors';
import type { GenerationEvent, LoadOptions } from '../../../src/shared/protocol';
import { listCachedModels, modelIdOf, openWeightStore, type CachedModelSummary } from '../../../src/store';
import type { ConvertWorkerEvent, ConvertWorkerRequest } from '../../../src/store/hub-conversion-protocol';

type Options = Extract<ConvertWorkerRequest, { type: 'convert' }>['options'];

export interface ConvertRun {
  ok: boolean;
  id: string | null;
  error: { name: string; code: string | null; message: string } | null;
  /** Progress kinds in order ('plan', 'file-start', 'tensor', 'file-done', 'done'). */
  phases: string[];
  /** Bytes the worker fetched per source file. */
  bytes: Record<string, number>;
  /** Checkpoint tensors written (progress events). */
  tensors: number;
  /** The plan the worker computed before fetching tensors. */
  plan: ConversionPlan | null;
  /** The tensor whose float32 form and outputs the data pass held at once (from the 'done' progress event). */
  heaviest: HeaviestTensor | null;
}

let worker: Worker | null = null;

const harness = {
  /**
   * Converts; with `cancelAfterFiles` (or `cancelAfterTensors`: checkpoint tensors written), terminates the worker
   * as a closed tab does after that many finished graphs (or tensors).
   */
  convert: (options: Options, cancelAfterFiles?: number, cancelAfterTensors?: number): Promise<ConvertRun> =>
    new Promise((resolve) => {
      const run: ConvertRun = {
        ok: false,
        id: null,
        error: null,
        phases: [],
        bytes: {},
        tensors: 0,
        plan: null,
        heaviest: null,
      };
      worker = new Worker(new URL('../../../workers/convert.worker.ts', import.meta.url), {
        type: 'module',
        name: 'llava-convert',
      });
      const w = worker;
      w.onmessage = (message: MessageEvent<ConvertWorkerEvent>) => {
        const e = message.data;
        if (e.type === 'progress') {
          run.phases.push(e.event.kind);
          if (e.event.kind === 'plan') run.plan = e.event.plan;
          if (e.event.kind === 'done') run.heaviest = e.event.heaviest;
          const done = run.phases.filter((p) => p === 'file-done').length;
          if (e.event.kind === 'tensor') run.tensors++;
          const tensorsDone = cancelAfterTensors !== undefined && run.tensors >= cancelAfterTensors;
          if ((cancelAfterFiles !== undefined && done >= cancelAfterFiles) || tensorsDone) {
            w.terminate();
            run.error = { name: 'AbortError', code: null, message: 'terminated' };
            resolve(run);
          }
        } else if (e.type === 'bytes') {
          run.bytes[e.path] = (run.bytes[e.path] ?? 0) + e.bytes;
        } else if (e.type === 'stored' || e.type === 'check' || e.type === 'checked') {
          // Store progress; the read-back check runs only when the app's card asks for it after 'done'.
        } else if (e.type === 'done') {
          run.ok = true;
          run.id = e.id;
          w.terminate();
          resolve(run);
        } else {
          run.error = { name: e.name, code: e.code, message: e.message };
          w.terminate();
          resolve(run);
        }
      };
      w.postMessage({ type: 'convert', options } satisfies ConvertWorkerRequest);
    }),
  /** The app card's step after 'done': the worker reads stored model `name` back against its manifest. */
  check: (name: string): Promise<{ ok: boolean; seconds: number; error: string | null }> =>
    new Promise((resolve) => {
      const w = new Worker(new URL('../../../workers/convert.worker.ts', import.meta.url), {
        type: 'module',
        name: 'llava-convert',
      });
      const started = performance.now();
      w.onmessage = (message: MessageEvent<ConvertWorkerEvent>) => {
        const e = message.data;
        if (e.type !== 'checked' && e.type !== 'error') return;
        w.terminate();
        const seconds = (performance.now() - started) / 1000;
        resolve({ ok: e.type === 'checked', seconds, error: e.type === 'error' ? e.message : null });
      };
      w.postMessage({ type: 'check', id: name } satisfies ConvertWorkerRequest);
    }),
  /** Every stored file of a converted model (by its local name): path, size, sha256, complete. */
  records: async (name: string) =>
    (await openWeightStore().listFiles(modelIdOf({ kind: 'local', id: name })))
      .map((r) => ({ path: r.path, size: r.size, sha256: r.sha256 ?? null, complete: r.complete }))
      .sort((a, b) => (a.path < b.path ? -1 : 1)),
  list: (): Promise<CachedModelSummary[]> => listCachedModels(),
  /** Deletes a converted model (the benchmark converts the same checkpoint again at each link speed). */
  remove: (name: string): Promise<void> =>
    openWeightStore().deleteModel(modelIdOf({ kind: 'local', id: name })),
  /** Loads the stored model in the engine worker and answers one message greedily: the text and token count. */
  chat: async (id: string, text: string, maxNewTokens: number, options: LoadOptions) => {
    const client = createEngineClient({
      createWorker: () =>
        new Worker(new URL('./store-engine.worker.ts', import.meta.url), { type: 'module' }),
    });
    try {
      await client.load({ kind: 'local', id }, options);
      const tokens: string[] = [];
      const result = await client.chat(
        { messages: [{ role: 'user', content: text }], sampling: { maxNewTokens } },
        { onEvent: (e: GenerationEvent) => void (e.kind === 'token' && tokens.push(e.text)) },
      );
      return { ok: true, text: tokens.join(''), count: result.usage.completionTokens, error: null };
    } catch (error) {
      return {
        ok: false,
        text: '',
        count: 0,
        error: `${isEngineError(error) ? error.code : ''} ${(error as Error).message}`,
      };
    } finally {
      client.dispose();
    }
  },
};

export type ConvertHarness = typeof harness;
(globalThis as unknown as { convertHarness: ConvertHarness }).convertHarness = harness;
