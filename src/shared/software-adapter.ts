// Owns recognising a WebGPU adapter that runs on the CPU (the browser's software fallback, SwiftShader, llvmpipe),
// which Auto must not prefer over WASM. Pure: it reads adapter facts handed to it and never touches navigator.gpu.

/** What an adapter says about itself: GPUAdapterInfo's fields plus Chromium's optional `type` ("CPU", …). */
export interface AdapterFacts {
  vendor?: string;
  architecture?: string;
  description?: string;
  isFallbackAdapter?: boolean;
  /** Chromium's adapter type where exposed: 'discrete GPU', 'integrated GPU', 'CPU', 'unknown'. */
  type?: string;
}

/** Renderers that draw on the CPU, as adapters name themselves in their description or architecture. */
const SOFTWARE_RENDERERS = /swiftshader|llvmpipe|lavapipe|softpipe|microsoft basic render|warp\b/i;

/**
 * Why this adapter is a software one, or null for a real GPU. In Chromium on this project's 2-core test machine the
 * software adapter took 197 ms per token of the tiny model where WASM took 86 (first token 1.6 s against 46 ms), so
 * Auto skips it.
 */
export function softwareAdapterReason(facts: AdapterFacts): string | null {
  const name = [facts.vendor, facts.architecture, facts.description].filter((x) => x).join(' ') || 'unnamed';
  if (facts.isFallbackAdapter === true)
    return `the only WebGPU adapter (${name}) is the browser's software fallback`;
  if (typeof facts.type === 'string' && /\bcpu\b/i.test(facts.type))
    return `the only WebGPU adapter (${name}) runs on the CPU`;
  const renderer = `${facts.architecture ?? ''} ${facts.description ?? ''}`.match(SOFTWARE_RENDERERS);
  if (renderer) return `the only WebGPU adapter (${name}) is a software renderer (${renderer[0]})`;
  return null;
}

/** The backend note Auto gives when it runs on WASM instead of a software adapter. */
export function wasmOverSoftwareNote(reason: string): string {
  return `Auto chose WebAssembly: ${reason}, which is much slower than WASM. Choose WebGPU in the settings to use it anyway.`;
}
