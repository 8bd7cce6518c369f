// Building a request's decoder input outside the engine (chat-input.ts), on the tiny generated model: the prompt the
// transcript resolved comes back with the input (no callback), the conversation's memory is only read, decoded
// pictures are keyed by content, and a picture that cannot be read is a 'bad-image' error.
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatInput, type ChatInputDeps } from '../../src/engine/chat-input';
import { ConversationState } from '../../src/engine/conversation-state';
import { imageKey } from '../../src/engine/feature-cache';
import { loadModel, type LoadedModel } from '../../src/engine/model-loader';
import { folderSource } from '../../src/node/folder-source';
import type { ChatMessage, ChatRequest } from '../../src/shared/protocol';
import { getTinyModel } from '../fixtures/tiny-model';
import { CPU_BACKEND, imageQuestion, picture } from './engine-helpers';

describe('chatInput (tiny)', () => {
  let m: LoadedModel;
  beforeAll(async () => {
    m = await loadModel({ ort, source: folderSource(getTinyModel('tiny').dir), backend: CPU_BACKEND });
  });
  afterAll(() => m.release());

  const image = picture(40, 24, 5);
  /** Decodes every picture input to `image` and counts the calls. */
  const depsOf = (state: ConversationState) => {
    const decoded: unknown[] = [];
    const deps: ChatInputDeps = {
      decodeImage: (input) => {
        decoded.push(input);
        return Promise.resolve(image);
      },
      features: state.features,
    };
    return { deps, decoded };
  };

  it('returns the prompt the transcript resolved with the input, and leaves the memory as it was', async () => {
    const state = new ConversationState();
    const memory = state.memory('c');
    memory.droppedTurns = 3;
    const { deps, decoded } = depsOf(state);
    const blob = new Blob([new Uint8Array([1, 2, 3])]);
    const messages: ChatMessage[] = [
      {
        role: 'user',
        content: [
          { type: 'image', image: blob },
          { type: 'text', text: 'What is it?' },
        ],
      },
    ];
    const built = await chatInput(m, { messages }, memory, deps);
    expect(decoded).toEqual([blob]);
    const resolved = built.input.resolved;
    expect(resolved).not.toBeNull();
    expect(resolved?.ids).toEqual(built.input.rawIds);
    expect(resolved?.text).toBe(built.input.rendered.text);
    expect(resolved?.imageKeys).toEqual([await imageKey(image)]);
    expect(built.input.spans.map((s) => s.key)).toEqual([await imageKey(image)]);
    expect([built.messages, built.droppedMessages]).toEqual([messages, 0]);
    // Without 'drop-oldest-turns' the previous count is handed back unchanged; nothing was recorded.
    expect(built.droppedTurns).toBe(3);
    expect(memory.droppedTurns).toBe(3);
    expect(
      memory.transcript.resolve(built.input.rendered, {
        encode: m.tokenizer.encode,
        imageTokenId: m.config.imageTokenId,
        imageKeys: resolved?.imageKeys ?? [],
      }).reusedIds,
    ).toBe(0);
    expect(state.features.size).toBe(1);
  });

  it('with drop-oldest-turns, says which turns the prompt left out', async () => {
    const state = new ConversationState();
    const words = (n: number) => Array.from({ length: n }, () => 'picture').join(' ');
    const request: ChatRequest = {
      messages: [
        imageQuestion(image, 'What is in the picture?'),
        { role: 'assistant', content: 'A square.' },
        { role: 'user', content: words(300) },
        { role: 'assistant', content: 'Yes.' },
        { role: 'user', content: 'And the colours?' },
      ],
      contextOverflow: 'drop-oldest-turns',
    };
    const built = await chatInput(m, request, state.memory('c'), depsOf(state).deps);
    expect([built.droppedTurns, built.droppedMessages]).toEqual([1, 2]);
    expect(built.messages.map((msg) => msg.role)).toEqual(['user', 'assistant', 'user']);
    expect(built.input.ids.length).toBeLessThan(m.config.text.contextLength);
    expect(state.memory('c').droppedTurns).toBe(0);
  });

  it('refuses a picture the decoder cannot read with bad-image', async () => {
    const state = new ConversationState();
    const deps: ChatInputDeps = {
      decodeImage: () => Promise.reject(new Error('not a picture')),
      features: state.features,
    };
    const request: ChatRequest = {
      messages: [
        {
          role: 'user',
          content: [
            { type: 'image', image: new Blob([]) },
            { type: 'text', text: 'Hi' },
          ],
        },
      ],
    };
    await expect(chatInput(m, request, state.memory('c'), deps)).rejects.toMatchObject({ code: 'bad-image' });
  });
});
