// The engine's memory has one home: forgetting a conversation clears its transcript, dropped turns and KV cache (and
// nothing of the others'); forgetting everything also drops image features; a conversation pushed out of the memory
// takes its KV cache with it; and the remembered conversations follow least-recently-used order.
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { ConversationState } from '../../src/engine/conversation-state';
import type { RenderedPrompt } from '../../src/engine/prompt';

/** One id per character: a prompt the test can reason about without a tokenizer. */
const encode = (text: string): number[] => [...text].map((c) => c.charCodeAt(0));
const rendered = (text: string): RenderedPrompt => ({ text, imageCount: 0, addSpecialTokens: false });
const context = { encode, imageTokenId: -1, imageKeys: [] };

/** Remembers one turn of `id`: a recorded prompt and answer, two dropped turns and one cached KV position. */
function remember(state: ConversationState, id: string) {
  const memory = state.memory(id);
  memory.transcript.record(memory.transcript.resolve(rendered('Q: hi A:'), context), {
    text: ' yes',
    ids: [7, 8],
  });
  memory.droppedTurns = 2;
  const tensor = new ort.Tensor('float32', new Float32Array(4), [1, 1, 1, 4]);
  state.kvOf(id).append(new Map([['past_key_values.0.key', tensor]]), [1]);
}

/** How many leading ids the next prompt of `id` takes from its transcript (the recorded answer's ids included). */
function reusedIds(state: ConversationState, id: string): number {
  return state.memory(id).transcript.resolve(rendered('Q: hi A: yes Q: more'), context).reusedIds;
}

const features = (n: number) => ({ data: new Float32Array(n), type: 'float32' as const, rows: 1, dim: n });

describe('ConversationState', () => {
  it('forget(id) clears that conversation’s transcript, dropped turns and KV cache, and no other', () => {
    const state = new ConversationState();
    remember(state, 'a');
    remember(state, 'b');
    state.features.set('picture', features(8));
    expect(reusedIds(state, 'a')).toBe('Q: hi A:'.length + 2);
    expect(state.kv.holds('a')).toBe(true);

    state.forget('a');
    expect(state.kv.holds('a')).toBe(false);
    expect(state.memory('a').droppedTurns).toBe(0);
    expect(reusedIds(state, 'a')).toBe(0);
    // The other conversation and the shared features are untouched.
    expect(state.kv.holds('b')).toBe(true);
    expect(state.memory('b').droppedTurns).toBe(2);
    expect(reusedIds(state, 'b')).toBe('Q: hi A:'.length + 2);
    expect(state.features.size).toBe(1);
  });

  it('forget() clears every conversation and every image’s features', () => {
    const state = new ConversationState();
    remember(state, 'a');
    remember(state, 'b');
    state.features.set('picture', features(8));
    state.forget();
    expect([state.size, state.kv.size, state.kv.totalBytes]).toEqual([0, 0, 0]);
    expect([state.features.size, state.features.totalBytes]).toEqual([0, 0]);
    expect(reusedIds(state, 'b')).toBe(0);
    expect(state.memory('b').droppedTurns).toBe(0);
  });

  it('a conversation pushed out of the memory loses its KV cache with it, least recently used first', () => {
    const state = new ConversationState({ maxConversations: 2 });
    remember(state, 'a');
    remember(state, 'b');
    // Using 'a' again makes 'b' the least recently used.
    state.memory('a');
    remember(state, 'c');
    expect(state.size).toBe(2);
    expect(state.kv.holds('b')).toBe(false);
    expect(state.kv.size).toBe(2);
    expect([state.kv.holds('a'), state.kv.holds('c')]).toEqual([true, true]);
    expect(state.memory('b').droppedTurns).toBe(0);
    expect(reusedIds(state, 'b')).toBe(0);
  });

  it('remembers dropped turns per conversation, forgetting the least recent past its capacity', () => {
    const state = new ConversationState({ maxConversations: 2 });
    state.memory('a').droppedTurns = 3;
    state.memory('b').droppedTurns = 1;
    state.memory('c').droppedTurns = 2;
    expect(state.size).toBe(2);
    expect([state.memory('b').droppedTurns, state.memory('c').droppedTurns]).toEqual([1, 2]);
    expect(state.memory('a').droppedTurns).toBe(0);
  });

  it('KV caches keep their own, smaller count: the oldest cache goes, its transcript stays', () => {
    const state = new ConversationState({ maxKvConversations: 1 });
    remember(state, 'a');
    remember(state, 'b');
    expect(state.kv.holds('a')).toBe(false);
    expect(state.kv.holds('b')).toBe(true);
    expect(reusedIds(state, 'a')).toBe('Q: hi A:'.length + 2);
  });
});
