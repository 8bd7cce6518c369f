import { openApp, screenshot } from './app-page';
const app = await openApp({ welcomed: false });
const { page } = app;
await page.locator('.first-run[role="dialog"]').waitFor();
await page.click('.first-run button:has-text("Try the demo")');
await new Promise((r) => setTimeout(r, 3000));
await screenshot(page, 'explore-fr');
console.log(app.browser.logs.slice(-15).join('\n'));
await app.close();
