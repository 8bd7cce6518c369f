// Owns the BPE merge learning and vocabulary padding shared by the generated tokenizers. Pure and deterministic;
// it knows nothing about tokenizer.json or any tokenizer family.

/**
 * Learns up to `budget` BPE merges over `words` (each already split into base symbols, with a count) by repeatedly
 * merging the most frequent adjacent pair; ties go to the smaller pair in code-unit order. Recounting every round
 * is linear in the corpus size, which stays small here.
 */
export function learnMerges(
  words: ReadonlyMap<string, number>,
  split: (word: string) => string[],
  budget: number,
): Array<[string, string]> {
  const symbols: Array<{ parts: string[]; count: number }> = [];
  for (const [w, count] of [...words.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
    symbols.push({ parts: split(w), count });
  }
  const merges: Array<[string, string]> = [];
  const seen = new Set<string>();
  while (merges.length < budget) {
    const pairCounts = new Map<string, number>();
    for (const { parts, count } of symbols) {
      for (let i = 0; i + 1 < parts.length; i++) {
        const key = `${parts[i]}\u0000${parts[i + 1]}`;
        pairCounts.set(key, (pairCounts.get(key) ?? 0) + count);
      }
    }
    let bestKey: string | null = null;
    let bestCount = 0;
    for (const [key, count] of pairCounts) {
      if (seen.has(key.replace('\u0000', ''))) continue;
      if (count > bestCount || (count === bestCount && bestKey !== null && key < bestKey)) {
        bestKey = key;
        bestCount = count;
      }
    }
    if (bestKey === null) break;
    const [a, b] = bestKey.split('\u0000') as [string, string];
    merges.push([a, b]);
    seen.add(a + b);
    for (const entry of symbols) {
      const p = entry.parts;
      const out: string[] = [];
      for (let i = 0; i < p.length; i++) {
        if (i + 1 < p.length && p[i] === a && p[i + 1] === b) {
          out.push(a + b);
          i++;
        } else {
          out.push(p[i]!);
        }
      }
      entry.parts = out;
    }
  }
  return merges;
}

/**
 * Extends `tokens` breadth-first with `head + suffix` merges (every token from `firstHead` on, times each suffix)
 * until it holds `size` tokens. Each new token and its merge are valid BPE (both parts already in the vocabulary).
 * Linear in the number of added tokens: a Set answers "already there?".
 * @throws Error when the suffixes cannot reach `size`.
 */
export function padMerges(
  tokens: string[],
  merges: string[],
  size: number,
  firstHead: number,
  suffixes: readonly string[],
): void {
  const known = new Set(tokens);
  for (let i = firstHead; tokens.length < size && i < tokens.length; i++) {
    const head = tokens[i]!;
    for (const ch of suffixes) {
      if (tokens.length >= size) break;
      const t = head + ch;
      if (known.has(t)) continue;
      tokens.push(t);
      known.add(t);
      merges.push(`${head} ${ch}`);
    }
  }
  if (tokens.length !== size) throw new Error(`could not fill a vocabulary of ${size} tokens`);
}

/**
 * Grows a base vocabulary (specials, bytes, alphabet: `tokens` as given) to `size` tokens: merges learned from the
 * `words` counts first, then padding merges of `tokens[firstHead..] + suffix`. Returns every merge in tokenizer.json
 * form (`"a b"`) and how many were learned rather than padded.
 * @throws Error when the suffixes cannot reach `size`.
 */
export function growVocabulary(
  tokens: string[],
  words: Map<string, number>,
  size: number,
  firstHead: number,
  suffixes: readonly string[],
): { merges: string[]; learned: number } {
  const learned = learnMerges(words, (w) => Array.from(w), size - tokens.length);
  const merges = learned.map(([a, b]) => `${a} ${b}`);
  for (const [a, b] of learned) tokens.push(a + b);
  padMerges(tokens, merges, size, firstHead, suffixes);
  return { merges, learned: learned.length };
}
