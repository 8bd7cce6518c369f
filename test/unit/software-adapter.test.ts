// Auto's rule for WebGPU adapters: a software one (fallback flag, CPU type, a CPU renderer's name) is named as such;
// a real GPU is not. The browser side (workers/backend.ts) is checked in test/e2e/engine-worker.test.ts.
import { describe, expect, it } from 'vitest';
import { softwareAdapterReason, wasmOverSoftwareNote } from '../../src/shared/software-adapter';

describe('software WebGPU adapters', () => {
  it('names the fallback flag, a CPU type and CPU renderers', () => {
    expect(softwareAdapterReason({ vendor: 'google', isFallbackAdapter: true })).toMatch(/software fallback/);
    expect(softwareAdapterReason({ vendor: 'x', type: 'CPU' })).toMatch(/runs on the CPU/);
    expect(softwareAdapterReason({ vendor: 'google', architecture: 'swiftshader', description: '' })).toMatch(
      /software renderer \(swiftshader\)/,
    );
    expect(
      softwareAdapterReason({ vendor: 'mesa', description: 'llvmpipe (LLVM 15.0.6, 256 bits)' }),
    ).toMatch(/llvmpipe/);
  });

  it('leaves real GPUs alone', () => {
    expect(
      softwareAdapterReason({ vendor: 'nvidia', architecture: 'ada', isFallbackAdapter: false }),
    ).toBeNull();
    expect(
      softwareAdapterReason({ vendor: 'apple', architecture: 'metal-3', type: 'integrated GPU' }),
    ).toBeNull();
    expect(
      softwareAdapterReason({ vendor: 'intel', architecture: 'gen-12lp', description: 'Intel(R) UHD' }),
    ).toBeNull();
  });

  it('tells the user how to get WebGPU anyway', () => {
    expect(
      wasmOverSoftwareNote("the only WebGPU adapter (google) is the browser's software fallback"),
    ).toMatch(/Choose WebGPU in the settings/);
  });
});
