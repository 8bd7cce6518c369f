// Runs convert-kernels-page.ts in headless Chromium (the project's launcher: local only, no WebGPU needed): bundles
// it with esbuild into one script, injects it into a blank page and returns the page's kernel lines and rates.
import { build } from 'esbuild';
import { launchBrowser } from '../e2e/harness/browser';

export async function chromiumKernels(
  reps: number,
): Promise<{ lines: string[]; rates: Array<[string, { before: number; after: number }]> }> {
  const bundle = await build({
    entryPoints: ['test/bench/convert-kernels-page.ts'],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    write: false,
  });
  const browser = await launchBrowser({ webgpu: false });
  try {
    const page = await browser.newPage();
    await page.addScriptTag({ content: bundle.outputFiles[0]!.text });
    const version = await page.evaluate(() => navigator.userAgent.replace(/.*(Chrome\/\S+).*/, '$1'));
    const result = await page.evaluate(
      (r) =>
        (
          globalThis as unknown as {
            kernelBench(
              r: number,
            ): Promise<{ lines: string[]; rates: Array<[string, { before: number; after: number }]> }>;
          }
        ).kernelBench(r),
      reps,
    );
    return { lines: [`(${version})`, ...result.lines], rates: result.rates };
  } finally {
    await browser.close();
  }
}
