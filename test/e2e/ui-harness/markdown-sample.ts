// Owns the long Markdown answer the rendering test and benchmark stream: headings, paragraphs with inline marks, lists,
// tables, quotes and fenced code in several languages (an HTML page among them), cut into token-sized chunks.
// Deterministic, so runs compare like with like. Also the types of what the test page (pages/markdown-page) measures.

/**
 * The app's answer view ('incremental'), the previous way (the whole text rendered again on every update), or nothing
 * rendered at all ('idle': the same loop of tasks, to count the long tasks a busy machine causes by itself).
 */
export type Mode = 'incremental' | 'full' | 'idle';

export interface StreamMetrics {
  updates: number;
  /** Main-thread milliseconds of each update (render + layout), in order. */
  updateMs: number[];
  /** Milliseconds to finish the answer (code toolbars included for the incremental view). */
  finishMs: number;
  longTasks: number;
  longestTaskMs: number;
}

const WORDS = [
  'the',
  'picture',
  'shows',
  'a',
  'red',
  'circle',
  'left',
  'of',
  'blue',
  'square',
  'with',
  'soft',
  'shadow',
  'under',
  'bright',
  'light',
];

function sentence(seed: number, words: number): string {
  const out: string[] = [];
  for (let i = 0; i < words; i++) out.push(WORDS[(seed * 7 + i * 13) % WORDS.length] as string);
  const s = out.join(' ');
  return `${s.charAt(0).toUpperCase()}${s.slice(1)}.`;
}

function section(k: number): string {
  const parts = [
    `## Part ${k + 1}: what is there`,
    `${sentence(k, 14)} It has **${k + 2} shapes**, one in \`code\`, and a [link](https://example.com/${k}). ${sentence(k + 1, 12)}`,
    [
      '- ' + sentence(k + 2, 6),
      '- ' + sentence(k + 3, 7),
      '  - ' + sentence(k + 4, 5),
      '- ' + sentence(k + 5, 8),
    ].join('\n'),
    `> ${sentence(k + 6, 10)}\n> ${sentence(k + 7, 9)}`,
    [
      '| shape | colour | place |',
      '| --- | --- | --- |',
      '| circle | red | left |',
      `| square | blue | row ${k} |`,
    ].join('\n'),
  ];
  if (k % 3 === 0) {
    parts.push(
      '```js\n' +
        Array.from(
          { length: 8 },
          (_, i) => `const shape${i} = { kind: 'circle', x: ${i * 10}, colour: "red" };`,
        ).join('\n') +
        '\n```',
    );
  } else if (k % 3 === 1) {
    parts.push(
      '```python\n' +
        Array.from(
          { length: 8 },
          (_, i) => `def area_${i}(r):\n    return 3.14159 * r * r  # circle ${i}`,
        ).join('\n') +
        '\n```',
    );
  } else {
    parts.push(
      '```html\n<!doctype html>\n<html><body>\n' +
        Array.from({ length: 6 }, (_, i) => `  <div class="shape" id="s${i}">circle ${i}</div>`).join('\n') +
        '\n</body></html>\n```',
    );
  }
  parts.push(`1. ${sentence(k + 8, 7)}\n2. ${sentence(k + 9, 6)}\n3. ${sentence(k + 10, 9)}`);
  return parts.join('\n\n');
}

/** A Markdown answer of about `tokens` tokens (about 4 characters each), as a model might stream it. */
export function markdownAnswer(tokens: number): string {
  const sections: string[] = ['# What the picture shows'];
  let k = 0;
  while (sections.join('\n\n').length < tokens * 4) sections.push(section(k++));
  return sections.join('\n\n');
}

/** `text` cut into chunks of `size` characters (a streamed token each). */
export function chunked(text: string, size = 4): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}
