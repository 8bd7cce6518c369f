// Owns how an answer's statistics read to people: a plain sentence ("Answered in 3.2 s · 41 words/s") and the
// technical details (tokens, reused tokens, first-token time) for a tooltip. Pure functions, no DOM.
import type { Usage } from '../../shared/protocol';
import { formatMs } from './format';

/** Words as a reader counts them: runs of letters or digits separated by spaces. */
export function countWords(text: string): number {
  return text.split(/\s+/).filter((w) => /[\p{L}\p{N}]/u.test(w)).length;
}

/** Seconds from sending to the last token: waiting for the first one, then the rest at the decode rate. */
export function answerSeconds(usage: Usage): number {
  const rest = Math.max(0, usage.completionTokens - 1);
  const decode = usage.decodeTokensPerS > 0 ? rest / usage.decodeTokensPerS : 0;
  return usage.timeToFirstTokenMs / 1000 + decode;
}

/** "Answered in 3.2 s · 41 words/s" — what a person wants to know, in their units. */
export function plainSummary(usage: Usage, text: string): string {
  const seconds = answerSeconds(usage);
  const took = `Answered in ${formatMs(seconds * 1000)}`;
  const words = countWords(text);
  if (words === 0 || seconds <= 0) return took;
  const rate = words / seconds;
  return `${took} · ${rate >= 10 ? Math.round(rate) : rate.toFixed(1)} words/s`;
}

/** The numbers behind the summary, one per line, for the tooltip. */
export function technicalDetails(usage: Usage): string {
  const lines = [
    `first token ${formatMs(usage.timeToFirstTokenMs)}`,
    `${usage.decodeTokensPerS.toFixed(1)} tokens/s`,
    `${usage.promptTokens} + ${usage.completionTokens} tokens (prompt + answer)`,
  ];
  if (usage.reusedPromptTokens)
    lines.push(`${usage.reusedPromptTokens} reused (prompt tokens kept from the previous turn)`);
  if (usage.contextLength !== undefined) lines.push(`context window ${usage.contextLength} tokens`);
  return lines.join('\n');
}
