// Owns turning untrusted model text into safe HTML: marked for Markdown, highlight.js for code, DOMPurify last.
// Never trusts its input: raw HTML is shown as text, and everything that comes out goes through the sanitizer.
import DOMPurify from 'dompurify';
import { Lexer, Marked, type Token, type Tokens } from 'marked';
import hljs from 'highlight.js/lib/core';
import bash from 'highlight.js/lib/languages/bash';
import c from 'highlight.js/lib/languages/c';
import cpp from 'highlight.js/lib/languages/cpp';
import css from 'highlight.js/lib/languages/css';
import javascript from 'highlight.js/lib/languages/javascript';
import json from 'highlight.js/lib/languages/json';
import markdown from 'highlight.js/lib/languages/markdown';
import python from 'highlight.js/lib/languages/python';
import rust from 'highlight.js/lib/languages/rust';
import sql from 'highlight.js/lib/languages/sql';
import typescript from 'highlight.js/lib/languages/typescript';
import xml from 'highlight.js/lib/languages/xml';

hljs.registerLanguage('bash', bash);
hljs.registerLanguage('c', c);
hljs.registerLanguage('cpp', cpp);
hljs.registerLanguage('css', css);
hljs.registerLanguage('javascript', javascript);
hljs.registerLanguage('json', json);
hljs.registerLanguage('markdown', markdown);
hljs.registerLanguage('python', python);
hljs.registerLanguage('rust', rust);
hljs.registerLanguage('sql', sql);
hljs.registerLanguage('typescript', typescript);
hljs.registerLanguage('xml', xml);

const HTML_LANGS = new Set(['html', 'htm', 'xhtml', 'svg']);

/** True for a code block whose language (or content) says it is an HTML page or fragment. */
export function isHtmlBlock(lang: string, code: string): boolean {
  const l = lang.toLowerCase();
  if (HTML_LANGS.has(l)) return true;
  if (l !== '') return false;
  return /^\s*(<!doctype html|<html[\s>])/i.test(code);
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

function highlight(code: string, lang: string): string {
  const language = lang.toLowerCase();
  if (language !== '' && hljs.getLanguage(language)) {
    return hljs.highlight(code, { language, ignoreIllegals: true }).value;
  }
  return escapeHtml(code);
}

function langOf(info: string | undefined): string {
  // The info string may carry more than the language ("js title=x"); keep a safe identifier only.
  const first = (info ?? '').trim().split(/\s+/)[0] ?? '';
  return /^[\w+#.-]{1,32}$/.test(first) ? first : '';
}

const marked = new Marked({
  gfm: true,
  breaks: false,
  async: false,
  renderer: {
    code({ text, lang }: Tokens.Code): string {
      const l = langOf(lang);
      const cls = l === '' ? 'hljs' : `hljs language-${escapeHtml(l)}`;
      return `<pre><code class="${cls}" data-lang="${escapeHtml(l)}">${highlight(text, l)}</code></pre>\n`;
    },
    // Raw HTML from a model is shown as text; it is never rendered as markup.
    html({ text }: Tokens.HTML | Tokens.Tag): string {
      return escapeHtml(text);
    },
    // Only images embedded in the text itself are shown; anything else would make a network request.
    image({ href, text }: Tokens.Image): string {
      if (/^data:image\/(png|jpeg|gif|webp);base64,/i.test(href)) {
        return `<img src="${escapeHtml(href)}" alt="${escapeHtml(text)}">`;
      }
      return `<span class="md-image-link">[image: ${escapeHtml(text || href)}]</span>`;
    },
  },
});

const purifier = DOMPurify();
purifier.addHook('afterSanitizeAttributes', (node) => {
  if (node.tagName === 'A') {
    const href = node.getAttribute('href') ?? '';
    if (!/^(https?:|mailto:|#)/i.test(href)) node.removeAttribute('href');
    node.setAttribute('target', '_blank');
    node.setAttribute('rel', 'noopener noreferrer nofollow');
  }
  if (node.tagName === 'IMG') {
    const src = node.getAttribute('src') ?? '';
    if (!/^data:image\//i.test(src)) node.removeAttribute('src');
    node.removeAttribute('srcset');
  }
});

const PURIFY_CONFIG = {
  FORBID_TAGS: [
    'style',
    'form',
    'input',
    'button',
    'textarea',
    'select',
    'iframe',
    'object',
    'embed',
    'link',
    'meta',
    'base',
    'svg',
    'math',
  ],
  FORBID_ATTR: ['style', 'srcset', 'action', 'formaction'],
  ALLOW_DATA_ATTR: false,
  ADD_ATTR: ['target', 'data-lang'],
};

/** Sanitized HTML for untrusted Markdown. Safe to assign to innerHTML. */
export function renderMarkdown(text: string): string {
  const html = marked.parse(text, { async: false });
  return purifier.sanitize(html, PURIFY_CONFIG);
}

/** Sanitized HTML for already lexed top-level Markdown tokens. */
function renderTokens(tokens: Token[]): string {
  return purifier.sanitize(marked.parser(tokens), PURIFY_CONFIG);
}

/** What changed in a growing answer since the last update, as sanitized HTML. */
export interface MarkdownUpdate {
  /** Blocks that were finished by this update, in order: they will not change again. */
  finished: string[];
  /** The last block, still growing ('' when the text ends between blocks). */
  tail: string;
}

/**
 * Renders a growing Markdown answer block by block: every top-level block but the last is finished (the text after it
 * has started another), so it is lexed, rendered and sanitized once; an update lexes, renders and sanitizes only the
 * text from the last block's start. The cost of an update follows the last block, not the whole answer. Link
 * definitions (`[ref]: url`) carry over to later blocks; a reference written before its definition stays text.
 */
export class IncrementalMarkdown {
  private text = '';
  /** Characters of `text` that belong to finished blocks. */
  private stable = 0;
  /** Link definitions of finished blocks, for references in later blocks. */
  private links: Lexer['tokens']['links'] = Object.create(null) as Lexer['tokens']['links'];

  /**
   * The blocks `text` finished and its growing tail; null when `text` does not extend the text of the last update
   * (another answer, an edited text): the caller starts over with {@link reset}.
   */
  update(text: string): MarkdownUpdate | null {
    if (!text.startsWith(this.text)) return null;
    this.text = text;
    const lexer = new Lexer(marked.defaults);
    Object.assign(lexer.tokens.links, this.links);
    const tokens = lexer.lex(text.slice(this.stable));
    let last = tokens.length - 1;
    while (last >= 0 && tokens[last]?.type === 'space') last--;
    const finished: string[] = [];
    for (let i = 0; i < last; i++) {
      const token = tokens[i] as Token;
      // The lexer may normalise what it read (line endings); only text it kept verbatim can be skipped next time.
      if (!text.startsWith(token.raw, this.stable)) return { finished, tail: this.renderFrom(tokens, i) };
      this.stable += token.raw.length;
      // Only a finished definition is final: one still being written may have half its address.
      if (token.type === 'def') this.links[token.tag] ??= { href: token.href, title: token.title };
      if (token.type !== 'space') finished.push(renderTokens([token]));
    }
    return { finished, tail: last >= 0 ? this.renderFrom(tokens, last) : '' };
  }

  reset(): void {
    this.text = '';
    this.stable = 0;
    this.links = Object.create(null) as Lexer['tokens']['links'];
  }

  private renderFrom(tokens: Token[], from: number): string {
    return renderTokens(tokens.slice(from));
  }
}
