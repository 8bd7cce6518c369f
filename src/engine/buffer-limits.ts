// Owns refusing, before a session is created, a model with a weight too big for one GPU buffer (docs/browser-limits.md,
// "Large models": such a session is created with only a logged device error and fails at its first run). It must not create sessions.

import { EngineError } from '../shared/errors';
import type { ModelSource } from '../shared/model-source';
import { onnxTensorSizes, type TensorSize } from './onnx-tensor-sizes';
import type { BackendDescriptor, BufferLimits } from './runtime';

/** The largest tensor one session may hold: it must fit a buffer and be bindable as storage. */
export function tensorLimit(limits: BufferLimits): number {
  return Math.min(limits.maxBufferSize, limits.maxStorageBufferBindingSize);
}

function formatSize(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} bytes` : `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}

/** The tensors of `model` (ModelProto bytes) over `limit` bytes, largest first. */
export function oversizedTensors(model: Uint8Array, limit: number): TensorSize[] {
  return onnxTensorSizes(model)
    .filter((t) => t.bytes > limit)
    .sort((a, b) => b.bytes - a.bytes);
}

export interface BufferCheckArgs {
  source: ModelSource;
  backend: BackendDescriptor;
  /** The model file and its external data files. */
  file: string;
  dataFiles: readonly string[];
  /** The model file's bytes when the caller already read them (else they are read only if they must be). */
  model?: Uint8Array;
  signal?: AbortSignal;
}

/**
 * Checks every weight of `file` against the backend's buffer limits; a no-op without limits. A file no larger than
 * the limit cannot hold a tensor over it, so the protobuf is read and scanned only when the model file or one of
 * its external data files is bigger (with external data the `.onnx` itself is small: it carries dims, not weights).
 * @throws EngineError('unsupported') naming the tensor, its size and the limit.
 */
export async function assertTensorsFit(args: BufferCheckArgs): Promise<void> {
  const { source, backend, file, signal } = args;
  if (!backend.bufferLimits) return;
  const limit = tensorLimit(backend.bufferLimits);
  const sizes = await Promise.all(
    [file, ...args.dataFiles].map(async (f, i) =>
      i === 0 && args.model ? args.model.byteLength : ((await source.size?.(f)) ?? null),
    ),
  );
  if (sizes.every((size) => size !== null && size <= limit)) return;
  const model = args.model ?? (await source.read(file, signal ? { signal } : {}));
  let over: TensorSize[];
  try {
    over = oversizedTensors(model, limit);
  } catch {
    // Not a protobuf this reader understands: the runtime judges the file itself and reports it as bad-model.
    return;
  }
  const worst = over[0];
  if (!worst) return;
  const others = over.length > 1 ? ` (and ${over.length - 1} more)` : '';
  throw new EngineError(
    'unsupported',
    `The weight "${worst.name}" in ${file} is ${formatSize(worst.bytes)}${others}, more than this GPU can hold in ` +
      `one buffer (${formatSize(limit)}). Choose a sharded or more strongly quantized variant of this model, ` +
      'or the WASM backend.',
    {
      details: {
        file,
        tensor: worst.name,
        dims: worst.dims,
        bytes: worst.bytes,
        limit,
        backend: backend.name,
      },
    },
  );
}
