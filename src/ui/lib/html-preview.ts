// Owns the document an HTML code block is previewed as: the model's markup plus a CSP that blocks every network
// request. The iframe that shows it is sandboxed without same-origin (see HtmlPreview), so it has no storage either.

/** No fetches, no external scripts, styles, fonts or images: inline code and data: URLs only. */
export const PREVIEW_CSP =
  "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data: blob:; font-src data:; media-src data: blob:";

const META = `<meta http-equiv="Content-Security-Policy" content="${PREVIEW_CSP}"><meta charset="utf-8">`;

/** The srcdoc for an HTML block, with sibling CSS/JS blocks of the same answer added when the HTML has none. */
export function previewDocument(html: string, extras: { css?: string[]; js?: string[] } = {}): string {
  let doc = html;
  const css = (extras.css ?? []).filter((c) => c.trim() !== '');
  const js = (extras.js ?? []).filter((c) => c.trim() !== '');
  if (css.length > 0 && !/<style[\s>]/i.test(doc)) doc = `<style>${css.join('\n')}</style>\n${doc}`;
  if (js.length > 0 && !/<script[\s>]/i.test(doc)) doc = `${doc}\n<script>${js.join('\n;\n')}</script>`;
  const head = /<head(\s[^>]*)?>/i.exec(doc);
  if (head) return doc.slice(0, head.index + head[0].length) + META + doc.slice(head.index + head[0].length);
  const html_ = /<html(\s[^>]*)?>/i.exec(doc);
  if (html_)
    return (
      doc.slice(0, html_.index + html_[0].length) +
      `<head>${META}</head>` +
      doc.slice(html_.index + html_[0].length)
    );
  const doctype = /^\s*<!doctype[^>]*>/i.exec(doc);
  if (doctype) return doctype[0] + META + doc.slice(doctype[0].length);
  return `<!doctype html>${META}${doc}`;
}
