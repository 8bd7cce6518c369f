// The demo model the app serves itself is addressed under the app's base URL, so a build deployed under a sub-path
// (`vite build --base /sub/`) finds it; a relative base is resolved against the page, not the worker's folder.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { bundledModelUrl } from '../../src/store/catalog';

afterEach(() => {
  vi.unstubAllEnvs();
  vi.unstubAllGlobals();
  vi.resetModules();
});

describe('bundled model address', () => {
  it('sits under an absolute base, with or without its trailing slash', () => {
    expect(bundledModelUrl('tiny', '/')).toBe('/models/tiny/');
    expect(bundledModelUrl('tiny', '/sub/')).toBe('/sub/models/tiny/');
    expect(bundledModelUrl('tiny', '/a/b')).toBe('/a/b/models/tiny/');
  });

  it("resolves a relative base ('./') against the page the app was opened from", () => {
    vi.stubGlobal('document', { baseURI: 'https://example.org/deep/app/index.html?x=1' });
    expect(bundledModelUrl('tiny', './')).toBe('/deep/app/models/tiny/');
    vi.unstubAllGlobals();
    // Without a page (a worker, Node) it stays relative rather than guessing.
    expect(bundledModelUrl('tiny', './')).toBe('./models/tiny/');
  });

  it("the catalog's demo entry follows the build's BASE_URL", async () => {
    vi.stubEnv('BASE_URL', '/sub/');
    vi.resetModules();
    const { CATALOG } = await import('../../src/store/catalog');
    const demo = CATALOG.find((e) => e.key === 'tiny-llava-random');
    expect(demo?.ref).toEqual({
      kind: 'url',
      baseUrl: '/sub/models/tiny-llava-random/',
      id: 'tiny-llava-random',
    });
  });
});
