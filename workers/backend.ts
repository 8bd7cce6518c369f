// Owns choosing where sessions run in the browser: a WebGPU device of our own (watched for loss) or the WASM EP.
// It must not create sessions or know about models: it hands the engine a BackendDescriptor and reports device loss.
import type { BackendDescriptor } from '../src/engine/runtime';
import { EngineError, errorMessage } from '../src/shared/errors';
import type { AdapterInfo, BackendName } from '../src/shared/protocol';
import { softwareAdapterReason, wasmOverSoftwareNote } from '../src/shared/software-adapter';
import type { DeviceLoss, GpuError, GpuFaultSource } from './gpu-faults';
import { wasmThreadCount } from './ort-env';

export type { DeviceLoss, GpuError } from './gpu-faults';

export interface BackendSelector extends GpuFaultSource {
  /**
   * Picks a backend for `requested`: 'auto' takes WebGPU when a hardware adapter and device can be had, else WASM
   * (a software adapter is passed over, with the reason in the descriptor's note); 'webgpu' takes any adapter.
   * Throws EngineError 'webgpu-unavailable' when 'webgpu' was asked for and cannot be had.
   */
  select(requested: BackendName | 'auto'): Promise<BackendDescriptor>;
  /** The device sessions run on now, or null on WASM or after a loss. */
  device(): GPUDevice | null;
}

/** Limits worth asking for: the defaults of requestDevice are far below what a decoder's weights and KV need. */
const wantedLimits = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
] as const;

/** ORT logs at 'warning' per session by default, e.g. that shape ops run on the CPU: expected, and noise to users. */
const quietSessions = { logSeverityLevel: 3 } as const;

function gpuErrorOf(error: GPUError): GpuError {
  const kind =
    typeof GPUValidationError !== 'undefined' && error instanceof GPUValidationError
      ? 'validation'
      : typeof GPUOutOfMemoryError !== 'undefined' && error instanceof GPUOutOfMemoryError
        ? 'out-of-memory'
        : typeof GPUInternalError !== 'undefined' && error instanceof GPUInternalError
          ? 'internal'
          : 'unknown';
  // Dawn appends the call chain on further lines ("- While calling …"): the first line is the news.
  const first = error.message.split('\n', 1)[0]?.trim();
  return { kind, message: first || `GPU ${kind} error` };
}

/** A task later than every message already queued, so that errors dispatched meanwhile have been delivered. */
const nextTask = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

function adapterInfoOf(adapter: GPUAdapter): AdapterInfo {
  const info = adapter.info;
  // Older Chromium put isFallbackAdapter on the adapter, newer on its info.
  const legacy = (adapter as unknown as { isFallbackAdapter?: boolean }).isFallbackAdapter;
  const fromInfo = (info as unknown as { isFallbackAdapter?: boolean }).isFallbackAdapter;
  return {
    vendor: info.vendor,
    architecture: info.architecture,
    description: info.description,
    isFallbackAdapter: fromInfo ?? legacy ?? false,
  };
}

/** Why `adapter` runs on the CPU, or null for a real GPU (Chromium's optional info.type counts too). */
function softwareReasonOf(adapter: GPUAdapter): string | null {
  const type = (adapter.info as unknown as { type?: unknown }).type;
  return softwareAdapterReason({
    ...adapterInfoOf(adapter),
    ...(typeof type === 'string' ? { type } : {}),
  });
}

function wasmDescriptor(note?: string): BackendDescriptor {
  return {
    ...(note ? { note } : {}),
    name: 'wasm',
    executionProviders: ['wasm'],
    keepKvOnDevice: false,
    adapter: null,
    shaderF16: false,
    threads: wasmThreadCount(),
    crossOriginIsolated: self.crossOriginIsolated,
    sessionOptions: quietSessions,
  };
}

/** Creates the selector for this worker. One GPU device at a time, kept until it is lost; then a new one on demand. */
export function createBackendSelector(): BackendSelector {
  let current: { device: GPUDevice; descriptor: BackendDescriptor } | null = null;
  const listeners = new Set<(loss: DeviceLoss) => void>();
  const errorListeners = new Set<(error: GpuError) => void>();

  /**
   * The WebGPU descriptor, or why there is none. With `skipSoftware` (Auto), a software adapter is refused with a
   * note for the WASM descriptor instead: WASM runs the same work many times faster on the same CPU.
   */
  async function openWebGpu(
    skipSoftware: boolean,
  ): Promise<BackendDescriptor | { reason: string; note?: string }> {
    if (!('gpu' in navigator) || !navigator.gpu) return { reason: 'This browser has no WebGPU.' };
    if (current) {
      const reason =
        skipSoftware && current.descriptor.adapter ? softwareAdapterReason(current.descriptor.adapter) : null;
      return reason ? { reason, note: wasmOverSoftwareNote(reason) } : current.descriptor;
    }
    const adapter = await navigator.gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) return { reason: 'No WebGPU adapter was found (the GPU may be blocklisted or disabled).' };
    const software = skipSoftware ? softwareReasonOf(adapter) : null;
    if (software) return { reason: software, note: wasmOverSoftwareNote(software) };
    const shaderF16 = adapter.features.has('shader-f16');
    const requiredLimits: Record<string, number> = {};
    for (const name of wantedLimits) requiredLimits[name] = adapter.limits[name];
    let device: GPUDevice;
    try {
      device = await adapter.requestDevice({
        requiredFeatures: shaderF16 ? ['shader-f16'] : [],
        requiredLimits,
        label: 'llava-engine',
      });
    } catch (error) {
      return { reason: `The GPU refused to open a device: ${errorMessage(error)}` };
    }
    const descriptor: BackendDescriptor = {
      name: 'webgpu',
      executionProviders: [{ name: 'webgpu', device }],
      keepKvOnDevice: true,
      adapter: adapterInfoOf(adapter),
      shaderF16,
      threads: wasmThreadCount(),
      crossOriginIsolated: self.crossOriginIsolated,
      sessionOptions: quietSessions,
      // What the device granted (we asked for the adapter's best): the loader checks every weight against them.
      bufferLimits: {
        maxBufferSize: device.limits.maxBufferSize,
        maxStorageBufferBindingSize: device.limits.maxStorageBufferBindingSize,
      },
    };
    const opened = { device, descriptor };
    current = opened;
    device.addEventListener('uncapturederror', (event) => {
      const error = gpuErrorOf((event as GPUUncapturedErrorEvent).error);
      console.warn(`WebGPU ${error.kind} error: ${(event as GPUUncapturedErrorEvent).error.message}`);
      if (current !== opened) return;
      for (const listener of errorListeners) listener(error);
    });
    void device.lost.then((info) => {
      // A device we released ourselves is not news; only the one in use counts.
      if (current !== opened) return;
      current = null;
      const loss = { reason: String(info.reason), message: info.message || 'The GPU device was lost.' };
      for (const listener of listeners) listener(loss);
    });
    return descriptor;
  }

  return {
    async select(requested) {
      if (requested === 'wasm' || requested === 'cpu') return wasmDescriptor();
      const webgpu = await openWebGpu(requested === 'auto');
      if (!('reason' in webgpu)) return webgpu;
      if (requested === 'webgpu') {
        throw new EngineError(
          'webgpu-unavailable',
          `${webgpu.reason} Choose the WASM backend, or try a browser with WebGPU enabled.`,
        );
      }
      return wasmDescriptor(webgpu.note);
    },
    device: () => current?.device ?? null,
    onDeviceLost(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    onUncapturedError(listener) {
      errorListeners.add(listener);
      return () => errorListeners.delete(listener);
    },
    async settle() {
      const device = current?.device;
      if (!device) return;
      // A destroyed device may never finish; its loss is reported through device.lost instead.
      await Promise.race([device.queue.onSubmittedWorkDone().catch(() => undefined), device.lost]);
      await nextTask();
    },
  };
}
