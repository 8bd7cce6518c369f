// Pictures are checked before anything reaches the engine: damaged files, text named .png and huge pictures each get a
// message naming the file, the page stays responsive, EXIF orientation is applied, and nothing already in the chat,
// the message box or the other attachments is lost.
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropFiles, dropUrls, openApp, screenshot, sendAndWait, type AppPage } from './ui-harness/app-page';
import { makeCorruptPng, makeHugePng, makePng, spec } from './ui-harness/images';

let app: AppPage;

interface Snapshot {
  messages: string[];
  draft: string;
  attachments: string[];
  notices: string[];
}

async function snapshot(): Promise<Snapshot> {
  return app.page.evaluate(() => ({
    messages: [...document.querySelectorAll('.message')].map((m) => m.textContent ?? ''),
    draft: (document.querySelector('#composer-input') as HTMLTextAreaElement).value,
    attachments: [...document.querySelectorAll('.attachment img')].map((i) => i.getAttribute('alt') ?? ''),
    notices: [...document.querySelectorAll('.notice')].map((n) => n.textContent ?? ''),
  }));
}

async function waitNotice(text: string): Promise<string> {
  const notice = app.page.locator('.notice', { hasText: text });
  await notice.first().waitFor({ timeout: 60_000 });
  return (await notice.first().textContent()) ?? '';
}

describe('picture intake', () => {
  let fixtures: string;
  beforeAll(async () => {
    fixtures = await mkdtemp(path.join(os.tmpdir(), 'ui-images-'));
    await writeFile(path.join(fixtures, 'huge.png'), await makeHugePng(12000, 12000));
    app = await openApp({ mounts: [{ prefix: '/fixtures/', dir: fixtures }], maxNewTokens: 8 });
    // A conversation with something in it, a half-written message and one good picture waiting.
    await dropFiles(app.page, [spec('first.png', 'image/png', makePng(64, 48))]);
    await app.page.waitForSelector('.attachment img[alt="first.png"]');
    await sendAndWait(app.page, 'What is this?');
    await dropFiles(app.page, [spec('keep.png', 'image/png', makePng(80, 60, 1))]);
    await app.page.waitForSelector('.attachment img[alt="keep.png"]');
    await app.page.fill('#composer-input', 'A draft I must not lose');
  });
  afterAll(async () => {
    await app?.close();
  });

  it('rejects a damaged PNG by name and keeps everything else', async () => {
    const before = await snapshot();
    await dropFiles(app.page, [spec('broken-photo.png', 'image/png', makeCorruptPng())]);
    const message = await waitNotice('broken-photo.png');
    expect(message).toMatch(/could not be decoded|damaged/);
    const after = await snapshot();
    expect(after.messages).toEqual(before.messages);
    expect(after.draft).toBe('A draft I must not lose');
    expect(after.attachments).toEqual(['keep.png']);
    await screenshot(app.page, 'error');
  });

  it('rejects a text file renamed .png, and a plain text file, by name', async () => {
    const before = await snapshot();
    await dropFiles(app.page, [
      spec('notes.png', 'image/png', Buffer.from('These are my shopping notes, not a picture.\n')),
      spec('readme.txt', 'text/plain', Buffer.from('hello\n')),
    ]);
    expect(await waitNotice('notes.png')).toContain('not a picture');
    expect(await waitNotice('readme.txt')).toContain('not a picture');
    const after = await snapshot();
    expect(after.messages).toEqual(before.messages);
    expect(after.draft).toBe(before.draft);
    expect(after.attachments).toEqual(['keep.png']);
  });

  it('lists every refused file of a 7-file drop in one notice, and attaches the pictures in the order given', async () => {
    const before = await snapshot();
    const text = (n: string) => spec(n, 'text/plain', Buffer.from(`${n}\n`));
    await dropFiles(app.page, [
      // The big one decodes last but is dropped first.
      spec('order-1.png', 'image/png', makePng(900, 700, 3)),
      text('bad-1.txt'),
      spec('order-2.png', 'image/png', makePng(40, 30, 4)),
      text('bad-2.txt'),
      spec('bad-3.png', 'image/png', makeCorruptPng()),
      text('bad-4.txt'),
      text('bad-5.txt'),
    ]);
    const message = await waitNotice('5 files were not added');
    for (const name of ['bad-1.txt', 'bad-2.txt', 'bad-3.png', 'bad-4.txt', 'bad-5.txt']) {
      expect(message).toContain(name);
    }
    await app.page.waitForSelector('.attachment img[alt="order-2.png"]');
    const after = await snapshot();
    expect(after.attachments).toEqual([...before.attachments, 'order-1.png', 'order-2.png']);
    await screenshot(app.page, 'refused-files');
    for (const name of ['order-1.png', 'order-2.png']) {
      await app.page.click(`.attachment:has(img[alt="${name}"]) button`);
    }
  });

  it('downscales a 12000×12000 picture without freezing the page, and says so', async () => {
    const { page } = app;
    await page.evaluate(() => {
      const w = window as unknown as { __longTasks: number[] };
      w.__longTasks = [];
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) w.__longTasks.push(e.duration);
      }).observe({ type: 'longtask' });
    });
    await dropUrls(page, [{ url: '/fixtures/huge.png', name: 'huge.png', type: 'image/png' }]);
    const message = await waitNotice('huge.png');
    expect(message).toContain('12000×12000');
    expect(message).toContain('2048×2048');
    await page.waitForSelector('.attachment img[alt="huge.png"]');
    const size = await page.evaluate(() => {
      const img = document.querySelector('.attachment img[alt="huge.png"]') as HTMLImageElement;
      return {
        w: img.naturalWidth,
        h: img.naturalHeight,
        longest: Math.max(0, ...(window as unknown as { __longTasks: number[] }).__longTasks),
      };
    });
    expect([size.w, size.h]).toEqual([2048, 2048]);
    // Decoding and scaling ran off the main thread: no task blocked the page for long.
    expect(size.longest).toBeLessThan(250);
    const after = await snapshot();
    expect(after.attachments).toEqual(['keep.png', 'huge.png']);
    expect(after.draft).toBe('A draft I must not lose');
  });

  it('applies EXIF orientation (a JPEG tagged "rotate 90°" arrives upright)', async () => {
    const { page } = app;
    await page.evaluate(async () => {
      const canvas = new OffscreenCanvas(40, 20);
      const ctx = canvas.getContext('2d')!;
      ctx.fillStyle = '#f00';
      ctx.fillRect(0, 0, 20, 20);
      ctx.fillStyle = '#00f';
      ctx.fillRect(20, 0, 20, 20);
      const jpeg = new Uint8Array(
        await (await canvas.convertToBlob({ type: 'image/jpeg', quality: 0.95 })).arrayBuffer(),
      );
      // APP1 Exif segment, big-endian TIFF, one IFD entry: Orientation (0x0112) = 6 (rotate 90° clockwise).
      const exif = [
        0xff, 0xe1, 0x00, 0x22, 0x45, 0x78, 0x69, 0x66, 0x00, 0x00, 0x4d, 0x4d, 0x00, 0x2a, 0x00, 0x00, 0x00,
        0x08, 0x00, 0x01, 0x01, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x06, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00,
      ];
      const tagged = new Uint8Array(jpeg.length + exif.length);
      tagged.set(jpeg.subarray(0, 2));
      tagged.set(exif, 2);
      tagged.set(jpeg.subarray(2), 2 + exif.length);
      const dt = new DataTransfer();
      dt.items.add(new File([tagged], 'rotated.jpg', { type: 'image/jpeg' }));
      document.body.dispatchEvent(
        new DragEvent('drop', { bubbles: true, cancelable: true, dataTransfer: dt }),
      );
    });
    await page.waitForSelector('.attachment img[alt="rotated.jpg"]');
    const result = await page.evaluate(async () => {
      const img = document.querySelector('.attachment img[alt="rotated.jpg"]') as HTMLImageElement;
      await img.decode();
      // Draw the stored picture as is (no orientation applied again) and read the top and bottom colours.
      // From the element itself: the app's CSP (connect-src) does not let a page fetch blob: URLs.
      const bmp = await createImageBitmap(img, { imageOrientation: 'none' as ImageOrientation });
      const c = new OffscreenCanvas(bmp.width, bmp.height).getContext('2d')!;
      c.drawImage(bmp, 0, 0);
      return {
        w: bmp.width,
        h: bmp.height,
        top: [...c.getImageData(10, 5, 1, 1).data],
        bottom: [...c.getImageData(10, 35, 1, 1).data],
      };
    });
    expect([result.w, result.h]).toEqual([20, 40]);
    // Rotated 90° clockwise: the left (red) half is now on top, the right (blue) half at the bottom.
    expect(result.top[0]).toBeGreaterThan(200);
    expect(result.bottom[2]).toBeGreaterThan(200);
  });

  it('sent no request outside localhost', () => {
    expect(app.browser.blockedRequests).toEqual([]);
  });
});
