/// <reference types="@webgpu/types" />
// Owns WebGPU in plain Node for the GPU pack: Dawn (the `webgpu` npm package, loaded from the pack, never bundled)
// installed as `navigator.gpu` for onnxruntime-web, the adapter's facts, and a copy-kernel bandwidth. It must not
// create sessions (the engine does) nor pick models.

import { pathToFileURL } from 'node:url';

interface DawnModule {
  create(flags: string[]): GPU;
  globals: Record<string, unknown>;
}

export interface AdapterFacts {
  vendor: string;
  architecture: string;
  description: string;
  shaderF16: boolean;
  limits: Record<string, number>;
}

/** Limits that bound what the decoder can put in one buffer and how a kernel may be shaped. */
const REPORTED_LIMITS = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
] as const;

/**
 * Dawn rejects a `writeBuffer` whose source views a SharedArrayBuffer (onnxruntime-web's threaded WebAssembly memory);
 * Chrome copies it. Copy the bytes into an ordinary array first, as Chrome would.
 */
function copyOnWrite(queueProto: GPUQueue): void {
  const write = queueProto.writeBuffer;
  queueProto.writeBuffer = function (
    this: GPUQueue,
    buffer: GPUBuffer,
    offset: number,
    data: BufferSource | SharedArrayBuffer,
    dataOffset = 0,
    size?: number,
  ): undefined {
    const view = ArrayBuffer.isView(data)
      ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
      : new Uint8Array(data);
    // dataOffset and size count elements of a typed array, bytes otherwise.
    const unit = ArrayBuffer.isView(data)
      ? ((data as unknown as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT ?? 1)
      : 1;
    const start = dataOffset * unit;
    const end = size === undefined ? view.byteLength : start + size * unit;
    return write.call(this, buffer, offset, view.slice(start, end));
  };
}

/**
 * Loads Dawn from `modulePath` and makes it the process's `navigator.gpu` (with the WebGPU classes as globals, as a
 * browser has them). Returns a high-performance adapter, or throws with what was missing.
 */
export async function installDawn(modulePath: string): Promise<{ gpu: GPU; adapter: GPUAdapter }> {
  const dawn = (await import(pathToFileURL(modulePath).href)) as DawnModule;
  Object.assign(globalThis, dawn.globals);
  copyOnWrite((dawn.globals.GPUQueue as { prototype: GPUQueue }).prototype);
  const gpu = dawn.create([]);
  const nav = (globalThis as { navigator?: object }).navigator ?? {};
  Object.defineProperty(globalThis, 'navigator', { value: Object.assign(nav, { gpu }), configurable: true });
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) {
    throw new Error(
      'Dawn found no WebGPU adapter: no Vulkan driver was found (check VK_DRIVER_FILES / VK_ICD_FILENAMES and that libvulkan.so.1 loads).',
    );
  }
  return { gpu, adapter };
}

export function adapterFacts(adapter: GPUAdapter): AdapterFacts {
  const limits: Record<string, number> = {};
  for (const name of REPORTED_LIMITS) limits[name] = adapter.limits[name];
  return {
    vendor: adapter.info.vendor,
    architecture: adapter.info.architecture,
    description: adapter.info.description,
    shaderF16: adapter.features.has('shader-f16'),
    limits,
  };
}

const COPY_SHADER = `
@group(0) @binding(0) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4<f32>>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>) {
  let i = id.x + id.y * n.x * 256u;
  if (i < arrayLength(&src)) { dst[i] = src[i]; }
}`;

/**
 * Bytes per second (read + written) of a compute kernel copying a buffer of `bytes` into another, best of `rounds`
 * passes of `repeats` dispatches each, timed from submit to `onSubmittedWorkDone`.
 */
export async function gpuCopyBandwidth(
  adapter: GPUAdapter,
  bytes = 1 << 30,
  rounds = 5,
  repeats = 10,
): Promise<number> {
  const device = await adapter.requestDevice({
    requiredLimits: {
      maxBufferSize: adapter.limits.maxBufferSize,
      maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
    },
  });
  const size = Math.min(bytes, device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize) & ~255;
  const src = device.createBuffer({ size, usage: GPUBufferUsage.STORAGE });
  const dst = device.createBuffer({ size, usage: GPUBufferUsage.STORAGE });
  const pipeline = device.createComputePipeline({
    layout: 'auto',
    compute: { module: device.createShaderModule({ code: COPY_SHADER }), entryPoint: 'main' },
  });
  const group = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [
      { binding: 0, resource: { buffer: src } },
      { binding: 1, resource: { buffer: dst } },
    ],
  });
  const groups = Math.ceil(size / 16 / 256);
  const x = Math.min(groups, device.limits.maxComputeWorkgroupsPerDimension);
  const y = Math.ceil(groups / x);
  const pass = async (): Promise<number> => {
    const encoder = device.createCommandEncoder();
    for (let r = 0; r < repeats; r++) {
      const p = encoder.beginComputePass();
      p.setPipeline(pipeline);
      p.setBindGroup(0, group);
      p.dispatchWorkgroups(x, y);
      p.end();
    }
    const t0 = performance.now();
    device.queue.submit([encoder.finish()]);
    await device.queue.onSubmittedWorkDone();
    return performance.now() - t0;
  };
  await pass(); // pipeline creation and first touch of both buffers
  let best = Infinity;
  for (let r = 0; r < rounds; r++) best = Math.min(best, await pass());
  src.destroy();
  dst.destroy();
  device.destroy();
  return ((2 * size * repeats) / best) * 1000;
}
