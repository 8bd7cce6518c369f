// Owns asking the browser, once, whether its GPU adapter offers 16-bit float shaders. No ONNX, no engine.

let cached: Promise<boolean> | undefined;

/** True when a WebGPU adapter with `shader-f16` exists; false without WebGPU or on any failure. */
export function hasShaderF16(): Promise<boolean> {
  cached ??= (async () => {
    try {
      const gpu = (
        navigator as Navigator & {
          gpu?: { requestAdapter(): Promise<{ features: ReadonlySet<string> } | null> };
        }
      ).gpu;
      const adapter = await gpu?.requestAdapter();
      return adapter?.features.has('shader-f16') ?? false;
    } catch {
      return false;
    }
  })();
  return cached;
}
