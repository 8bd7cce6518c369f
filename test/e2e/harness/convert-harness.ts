// Owns the Node side of the conversion harness page (test/e2e/pages/convert-e2e.html): opening it on a server and
// calling its methods with their own parameter and result types. The e2e test and the conversion benches share it.
import type { Page } from 'playwright-core';
import type { ConvertHarness } from '../pages/convert-e2e-page';

/** One harness method called in the page, typed as the page declares it. */
export type HarnessCall = <K extends keyof ConvertHarness>(
  name: K,
  ...args: Parameters<ConvertHarness[K]>
) => Promise<Awaited<ReturnType<ConvertHarness[K]>>>;

/** Calls into whichever page `page()` returns at the time of the call (a test may open a new one). */
export function harnessCall(page: () => Page): HarnessCall {
  return (name, ...args) =>
    page().evaluate(
      ([method, params]) =>
        (globalThis as unknown as { convertHarness: Record<string, (...a: unknown[]) => unknown> })
          .convertHarness[method]!(...params),
      [name, args] as [string, unknown[]],
    ) as never;
}

/** Opens the harness page of `origin` (a server that serves the built app) in `page` and waits for it to be ready. */
export async function openConvertHarness(page: Page, origin: string): Promise<void> {
  await page.goto(`${origin}/test/e2e/pages/convert-e2e.html`);
  await page.waitForFunction(() => 'convertHarness' in globalThis);
}
