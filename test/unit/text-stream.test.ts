// Text streaming: deltas concatenate to decode(all ids) byte for byte (emoji from byte-fallback tokens, leading
// spaces of lines, indentation), nothing half-spelled is ever released, and stop strings cut the text.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '../../src/engine/sampler';
import { TextStream } from '../../src/engine/text-stream';
import { createTokenizer, type TextTokenizer } from '../../src/engine/tokenizer';
import { getTinyModel } from '../fixtures/tiny-model';

let tok: TextTokenizer;
let byteTokenCount = 0;

function streamAll(ids: readonly number[], stops: string[] = []) {
  const stream = new TextStream(tok.decode, stops);
  const deltas: string[] = [];
  for (const id of ids) {
    deltas.push(stream.push(id));
    if (stream.stopped) break;
  }
  deltas.push(stream.finish());
  return { deltas, text: deltas.join(''), stream };
}

const bytes = (s: string) => Array.from(new TextEncoder().encode(s));

beforeAll(() => {
  const { dir } = getTinyModel('tiny');
  const json = JSON.parse(readFileSync(path.join(dir, 'tokenizer.json'), 'utf8')) as {
    model: { vocab: Record<string, number> };
  };
  byteTokenCount = Object.keys(json.model.vocab).filter((t) => /^<0x[0-9A-F]{2}>$/.test(t)).length;
  tok = createTokenizer(json, JSON.parse(readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8')));
});

describe('text stream', () => {
  const samples = [
    'Hello world, this is a picture of a cat.',
    'Emoji: 😀🐈‍⬛ and 你好 spelled by byte tokens 👍🏽!',
    'def f(x):\n    return x\n  indented two\n\n leading space on a line',
    ' starts with a space and ends with one ',
    'tabs\tand\r\nwindows lines',
  ];

  it('uses a tokenizer with byte fallback (so emoji arrive over several tokens)', () => {
    expect(byteTokenCount).toBe(256);
    const ids = tok.encode('😀', false);
    expect(ids.length).toBeGreaterThan(1);
  });

  for (const sample of samples) {
    it(`concatenated deltas equal decode(all ids) byte for byte: ${JSON.stringify(sample.slice(0, 24))}`, () => {
      const ids = tok.encode(sample, false);
      const { deltas, text } = streamAll(ids);
      expect(bytes(text)).toEqual(bytes(tok.decode(ids)));
      expect(text).toBe(sample);
      // No delta ever carries half a character.
      for (const d of deltas) expect(d).not.toContain('\uFFFD');
    });
  }

  it('keeps the leading space of every streamed line (unlike TextStreamer)', () => {
    const sample = 'line one\n indented by one\n  by two';
    const ids = tok.encode(sample, false);
    const { deltas, text } = streamAll(ids);
    expect(text).toBe(sample);
    expect(deltas.join('').split('\n')[1]).toBe(' indented by one');
  });

  it('holds the invariant on random id sequences, invalid byte runs included', () => {
    const rng = createRng(123);
    for (let trial = 0; trial < 40; trial++) {
      const ids = Array.from({ length: 1 + Math.floor(rng() * 60) }, () => Math.floor(rng() * 512));
      const { text } = streamAll(ids);
      expect(bytes(text)).toEqual(bytes(tok.decode(ids)));
    }
  });

  it('releases text as it becomes stable, not only at the end', () => {
    const ids = tok.encode('one two three four five six seven', false);
    const { deltas } = streamAll(ids);
    expect(deltas.filter((d) => d.length > 0).length).toBeGreaterThan(3);
  });

  it('stops at a stop string, returns the text before it and never releases part of it', () => {
    const ids = tok.encode('The answer is 42.\nUSER: and more text', false);
    const { text, stream, deltas } = streamAll(ids, ['\nUSER:']);
    expect(stream.stopped).toBe(true);
    expect(text).toBe('The answer is 42.');
    expect(deltas.join('')).not.toContain('USER');
    // Generation stopped right after the token that completed the stop string.
    expect(stream.tokenIds.length).toBeLessThan(ids.length);
  });

  it('holds back a possible stop-string prefix and releases it when it turns out not to be one', () => {
    const stream = new TextStream(tok.decode, ['STOP']);
    const ids = tok.encode('go ST then more', false);
    const seen: string[] = [];
    for (const id of ids) seen.push(stream.push(id));
    seen.push(stream.finish());
    expect(seen.join('')).toBe('go ST then more');
    expect(stream.stopped).toBe(false);
  });
});
