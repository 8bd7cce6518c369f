// Owns creating the three ONNX sessions of a LLaVA model from ModelSource bytes (or a local path), choosing each
// component's dtype file and its external data. It must not run inference or fetch anything itself.

import { throwIfAborted } from '../shared/abort';
import { EngineError, isEngineError } from '../shared/errors';
import { externalDataPath, onnxPath, type Component, type Dtype } from '../shared/model-layout';
import type { DtypeChoice } from '../shared/protocol';
import { assertTensorsFit } from './buffer-limits';
import type { ModelSource } from '../shared/model-source';
import type { BackendDescriptor, OrtRuntime, OrtSession, SessionOptions } from './runtime';

const FALLBACKS: Record<Dtype, Dtype[]> = {
  q4: ['q8', 'fp32', 'q4f16', 'fp16'],
  q8: ['q4', 'fp32', 'fp16', 'q4f16'],
  fp32: ['q8', 'q4', 'fp16', 'q4f16'],
  fp16: ['fp32', 'q4f16', 'q8', 'q4'],
  q4f16: ['q4', 'fp16', 'fp32', 'q8'],
};

/** The dtype a backend runs best when neither the caller nor the model's config asks for one. */
export function defaultDtype(backend: BackendDescriptor): Dtype {
  if (backend.name === 'webgpu') return 'q4';
  if (backend.name === 'wasm') return 'q8';
  return 'fp32';
}

/**
 * Dtypes to try for one component, best first: the requested one, then sensible fallbacks. Half-precision
 * activations are dropped on a WebGPU adapter without shader-f16, where they cannot run.
 */
export function dtypeCandidates(
  component: Component,
  choice: DtypeChoice | null,
  backend: BackendDescriptor,
): Dtype[] {
  const requested = (typeof choice === 'string' ? choice : choice?.[component]) ?? defaultDtype(backend);
  const list = [requested, ...FALLBACKS[requested]];
  const noF16 = backend.name === 'webgpu' && !backend.shaderF16;
  return list.filter((d) => !(noF16 && (d === 'fp16' || d === 'q4f16')));
}

/** External data files of a model file: from transformers.js_config when it says, else probed. */
async function externalDataFiles(
  source: ModelSource,
  file: string,
  configured: Record<string, number> | number | boolean | null,
): Promise<string[]> {
  const base = file.slice(file.lastIndexOf('/') + 1);
  let count: number | null = null;
  if (typeof configured === 'number' || typeof configured === 'boolean') count = Number(configured);
  else if (configured) count = configured[base] ?? configured[base.replace(/\.onnx$/, '')] ?? null;
  const names: string[] = [];
  for (let i = 0; count === null ? true : i < count; i++) {
    const name = externalDataPath(file, i);
    if (count === null && !(await source.has(name))) break;
    names.push(name);
  }
  return names;
}

export interface LoadedSession {
  component: Component;
  dtype: Dtype;
  file: string;
  session: OrtSession;
  /** Bytes of the model file and its external data. */
  bytes: number;
}

export interface CreateSessionArgs {
  ort: OrtRuntime;
  source: ModelSource;
  backend: BackendDescriptor;
  component: Component;
  candidates: readonly Dtype[];
  externalData: Record<string, number> | number | boolean | null;
  /** Extra options for this session (e.g. preferredOutputLocation of the decoder's present.* outputs). */
  options?: SessionOptions;
  signal?: AbortSignal;
}

async function pickFile(source: ModelSource, component: Component, candidates: readonly Dtype[]) {
  for (const dtype of candidates) {
    const file = onnxPath(component, dtype);
    if (await source.has(file)) return { dtype, file };
  }
  throw new EngineError(
    'bad-model',
    `The model has no ${component} file (tried ${candidates.map((d) => onnxPath(component, d)).join(', ')}). ` +
      'Pick another model or precision.',
  );
}

/**
 * Creates one component's session. Prefers a local path when the source has one (onnxruntime-node resolves
 * external data itself); otherwise reads the bytes and passes external data through the `externalData` option.
 * @throws EngineError('bad-model') when no variant exists or the runtime rejects the file; 'unsupported' when a
 * weight exceeds the backend's buffer limits (checked before the session exists); AbortError when aborted.
 */
export async function createComponentSession(args: CreateSessionArgs): Promise<LoadedSession> {
  const { ort, source, backend, component, signal } = args;
  throwIfAborted(signal);
  const { dtype, file } = await pickFile(source, component, args.candidates);
  const dataFiles = await externalDataFiles(source, file, args.externalData);
  const options: SessionOptions = {
    ...backend.sessionOptions,
    executionProviders: backend.executionProviders,
    ...args.options,
  };
  const localPath = source.localPath?.(file) ?? null;
  let bytes = 0;
  let session: OrtSession;
  try {
    if (localPath !== null) {
      for (const f of [file, ...dataFiles]) bytes += (await source.size?.(f)) ?? 0;
      await assertTensorsFit({ source, backend, file, dataFiles, ...(signal ? { signal } : {}) });
      throwIfAborted(signal);
      session = await ort.InferenceSession.create(localPath, options);
    } else {
      const model = await source.read(file, signal ? { signal } : {});
      bytes += model.byteLength;
      await assertTensorsFit({ source, backend, file, dataFiles, model, ...(signal ? { signal } : {}) });
      const externalData = [];
      for (const f of dataFiles) {
        const data = await source.read(f, signal ? { signal } : {});
        bytes += data.byteLength;
        // ORT matches the location string written in the model, which is the bare file name.
        externalData.push({ path: f.slice(f.lastIndexOf('/') + 1), data });
      }
      throwIfAborted(signal);
      session = await ort.InferenceSession.create(
        model,
        externalData.length > 0 ? { ...options, externalData } : options,
      );
    }
  } catch (cause) {
    if (signal?.aborted) throw cause;
    if (isEngineError(cause)) throw cause;
    throw new EngineError(
      'bad-model',
      `The model file ${file} could not be opened on ${backend.name}. ` +
        'Re-download the model or pick another precision.',
      { cause, details: { file, backend: backend.name } },
    );
  }
  return { component, dtype, file, session, bytes };
}
