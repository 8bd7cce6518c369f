// The policies as written: the preview document starts with its policy whatever the model wrote, the scripted
// preview page carries the same policy, and the app's policy keeps scripts to its own files.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { previewDocument, previewPolicy } from '../../src/ui/lib/html-preview';
import { appContentSecurityPolicy, modelHostsWith, securityHeaders } from '../../src/shared/security-policy';

const root = path.resolve(import.meta.dirname, '../..');

describe('preview document', () => {
  const hostile = [
    '<!-- the <head> --><img src="http://203.0.113.9/a.png"><html><head></head><body>x</body></html>',
    '<script>var s = "<head>";</script><head></head>',
    '\uFEFF  <!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" content="default-src *"></head></html>',
  ];
  for (const html of hostile)
    it(`opens with the doctype and the policy: ${html.slice(0, 40)}`, () => {
      const doc = previewDocument(html, { css: ['@import url(http://203.0.113.9/x.css);'], js: ['1'] });
      const policyTag = `<!doctype html><meta http-equiv="Content-Security-Policy" content="${previewPolicy(false)}">`;
      expect(doc.startsWith(policyTag)).toBe(true);
      // Sibling CSS comes after the policy, never before it.
      expect(doc.indexOf('@import')).toBeGreaterThan(policyTag.length);
      // The model's own doctype is not repeated after the policy (that would be quirks mode).
      expect(doc.match(/<!doctype/gi)?.length).toBe(1);
    });

  it('allows inline scripts only when asked, and no network in either case', () => {
    expect(previewPolicy(false)).toContain("script-src 'none'");
    expect(previewPolicy(true)).toContain("script-src 'unsafe-inline'");
    for (const p of [previewPolicy(false), previewPolicy(true)]) {
      expect(p).toMatch(/^default-src 'none'/);
      expect(p).not.toMatch(/https?:|\*|'self'/);
      expect(p).toContain("form-action 'none'");
      expect(p).toContain("base-uri 'none'");
    }
  });

  it('is the policy the scripted preview page opens with', async () => {
    const page = await readFile(path.join(root, 'public/preview.html'), 'utf8');
    const meta = /<meta\s+http-equiv="Content-Security-Policy"\s+content="([^"]*)"/.exec(page);
    expect(meta?.[1]).toBe(previewPolicy(true));
    // Nothing but the charset comes before it.
    expect(page.indexOf('<meta charset')).toBeLessThan(meta?.index ?? -1);
    expect(page.slice(0, meta?.index).match(/<(?!meta charset|!doctype)[a-z]/gi)).toBeNull();
  });
});

describe('app policy', () => {
  it('runs only its own scripts and WebAssembly, and frames only its own pages', () => {
    const csp = appContentSecurityPolicy();
    expect(csp).toContain("script-src 'self' 'wasm-unsafe-eval';");
    expect(csp).not.toMatch(/script-src[^;]*'unsafe-(inline|eval)'/);
    expect(csp).toContain("frame-src 'self'");
    expect(csp).toContain("object-src 'none'");
    expect(csp).toMatch(/connect-src 'self' https:\/\/huggingface\.co/);
  });

  it('sends the preview page without the app policy, and every page with nosniff and no referrer', () => {
    const app = securityHeaders('/index.html?x=1');
    const preview = securityHeaders('/sub/preview.html');
    expect(app['Content-Security-Policy']).toContain("frame-ancestors 'none'");
    expect(app['Content-Security-Policy']).toContain("script-src 'self'");
    expect(preview['Content-Security-Policy']).toBe("frame-ancestors 'self'");
    for (const h of [app, preview]) {
      expect(h['X-Content-Type-Options']).toBe('nosniff');
      expect(h['Referrer-Policy']).toBe('no-referrer');
    }
  });

  it('admits a mirror only where the deployment names it, and refuses what is not an origin', () => {
    const hosts = modelHostsWith('https://mirror.example.org, http://127.0.0.1:*');
    const csp = securityHeaders('/', hosts)['Content-Security-Policy'];
    expect(csp).toMatch(
      /connect-src 'self' https:\/\/huggingface\.co [^;]*https:\/\/mirror\.example\.org http:\/\/127\.0\.0\.1:\*;/,
    );
    expect(securityHeaders('/')['Content-Security-Policy']).not.toContain('mirror.example.org');
    expect(modelHostsWith(undefined)).toEqual(modelHostsWith(''));
    for (const bad of ["https://x.org; script-src 'unsafe-eval'", 'mirror.example.org', 'https://x.org/path'])
      expect(() => modelHostsWith(bad)).toThrow(/not an origin/);
  });
});
