// The line under an answer reads in plain words (time and words a second); the token figures go to its tooltip.
import { describe, expect, it } from 'vitest';
import { answerSeconds, countWords, plainSummary, technicalDetails } from '../../src/ui/lib/answer-summary';

const usage = {
  promptTokens: 127,
  completionTokens: 256,
  timeToFirstTokenMs: 350,
  decodeTokensPerS: 90,
  reusedPromptTokens: 120,
};

describe('answer statistics in words', () => {
  it('says how long the answer took and how many words a second it read', () => {
    // 0.35 s to the first token, then 255 more at 90 a second: 3.18 s.
    expect(answerSeconds(usage)).toBeCloseTo(3.183, 3);
    const text = Array.from({ length: 131 }, (_, i) => `word${i}`).join(' ');
    expect(plainSummary(usage, text)).toBe('Answered in 3.2 s · 41 words/s');
    expect(plainSummary(usage, text)).not.toMatch(/token/);
  });

  it('counts words, not punctuation or code fences', () => {
    expect(countWords('A **square**, left of — a ```circle```!\n\n- one\n- 2')).toBe(8);
    expect(plainSummary({ ...usage, completionTokens: 1 }, '')).toBe('Answered in 350 ms');
  });

  it('keeps the technical figures for the tooltip', () => {
    expect(technicalDetails({ ...usage, contextLength: 4096 }).split('\n')).toEqual([
      'first token 350 ms',
      '90.0 tokens/s',
      '127 + 256 tokens (prompt + answer)',
      '120 reused (prompt tokens kept from the previous turn)',
      'context window 4096 tokens',
    ]);
  });
});
