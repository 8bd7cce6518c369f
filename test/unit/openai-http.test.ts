// The official `openai` npm client (pinned in package.json), unchanged but for baseURL and fetch, against our HTTP
// route over the real engine running the trained micro LLaVA: it streams an answer about a picture that names what is
// there, its non-streaming call returns the same text, its errors carry the field, and the wire is OpenAI's SSE.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChatCompletions } from '../../src/openai/completions';
import { createOpenAIHttpHandler, type OpenAIHttpHandler } from '../../src/openai/http';
import { modelList } from '../../src/openai/models';
import type { EngineApi } from '../../src/shared/protocol';
import { drawScene, microModelDir } from '../fixtures/micro-model';
import { dataUrlOf, pngEngine, pngOf } from './helpers/openai-engine';

const BASE = 'http://llava.local/v1';
let engine: EngineApi;
let handler: OpenAIHttpHandler;
let client: OpenAI;
let modelId: string;
/** Aborted signals of the requests the handler saw. */
let lastSignal: AbortSignal | undefined;
/** The signal of every engine chat the route started. */
const engineSignals: (AbortSignal | undefined)[] = [];

const redCircle = dataUrlOf(pngOf(drawScene([{ slot: 'left', color: 'red', shape: 'circle' }])));
const question = (): OpenAI.ChatCompletionMessageParam[] => [
  {
    role: 'user',
    content: [
      { type: 'image_url', image_url: { url: redCircle } },
      { type: 'text', text: 'Describe the image in detail.' },
    ],
  },
];

beforeAll(async () => {
  engine = await pngEngine(microModelDir());
  modelId = (await engine.status()).model!.id;
  const completions = createChatCompletions({
    engine: {
      status: () => engine.status(),
      chat: (request, op) => {
        engineSignals.push(op?.signal);
        return engine.chat(request, op);
      },
    },
  });
  handler = createOpenAIHttpHandler({
    completions,
    listModels: async () => modelList((await engine.status()).model?.id ?? null, [{ id: 'cached/other' }]),
  });
  client = new OpenAI({
    apiKey: 'not-needed-locally',
    baseURL: BASE,
    maxRetries: 0,
    fetch: async (url, init) => {
      const request = new Request(url, init);
      lastSignal = request.signal;
      return (await handler(request)) ?? new Response('not ours', { status: 502 });
    },
  });
}, 180_000);

afterAll(async () => {
  await engine?.unload();
});

describe('the official openai client against the local route', () => {
  it('streams an answer about the picture, and the non-streaming call returns the same text', async () => {
    const stream = await client.chat.completions.create({
      model: modelId,
      messages: question(),
      temperature: 0,
      max_tokens: 60,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text.toLowerCase()).toContain('red');
    expect(text.toLowerCase()).toContain('circle');
    expect(finish).toBe('stop');
    expect(usage!.completion_tokens).toBeGreaterThan(0);

    const whole = await client.chat.completions.create({
      model: modelId,
      messages: question(),
      temperature: 0,
      max_tokens: 60,
    });
    expect(whole.choices[0]!.message.content).toBe(text);
    expect(whole.usage!.completion_tokens).toBe(usage!.completion_tokens);
  });

  it('lists the loaded model first, and retrieves it', async () => {
    const ids: string[] = [];
    for await (const model of client.models.list()) ids.push(model.id);
    expect(ids).toEqual([modelId, 'cached/other']);
    expect((await client.models.retrieve(modelId)).id).toBe(modelId);
  });

  it('raises the client’s BadRequestError naming an unsupported field', async () => {
    const error = await client.chat.completions
      .create({
        model: modelId,
        messages: question(),
        tools: [{ type: 'function', function: { name: 'f' } }],
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('tools');
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).code).toBe('unsupported_parameter');
    const missing = await client.chat.completions
      .create({ model: 'gpt-4o', messages: question() })
      .catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
  });

  it('stops the generation when the client aborts mid-stream', async () => {
    const controller = new AbortController();
    const stream = await client.chat.completions.create(
      { model: modelId, messages: question(), temperature: 0, max_tokens: 200, stream: true },
      { signal: controller.signal },
    );
    const error = await (async () => {
      let n = 0;
      for await (const chunk of stream) if (chunk.choices[0]?.delta.content && ++n === 2) controller.abort();
    })().catch((e: unknown) => e);
    // The client ends its loop quietly on its own abort, as it does against api.openai.com.
    expect(error).toBeUndefined();
    expect(lastSignal?.aborted).toBe(true);
    expect(engineSignals.at(-1)?.aborted).toBe(true);
    const after = await client.chat.completions.create({
      model: modelId,
      messages: question(),
      max_tokens: 3,
    });
    expect(after.usage!.completion_tokens).toBeLessThanOrEqual(3);
  });
});

describe('the wire format', () => {
  it('is server-sent events of chunk objects ending in [DONE]', async () => {
    const response = await handler(
      new Request(`${BASE}/chat/completions`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ messages: question(), max_tokens: 4, temperature: 0, stream: true }),
      }),
    );
    expect(response!.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const events = (await response!.text()).split('\n\n');
    expect(events.pop()).toBe('');
    expect(events.pop()).toBe('data: [DONE]');
    for (const event of events) {
      expect(event.startsWith('data: {')).toBe(true);
      expect(JSON.parse(event.slice(6))).toMatchObject({ object: 'chat.completion.chunk', model: modelId });
    }
  });

  it('stops the generation when the reader cancels the event stream', async () => {
    const response = await handler(
      new Request(`${BASE}/chat/completions`, {
        method: 'POST',
        body: JSON.stringify({ messages: question(), max_tokens: 200, stream: true }),
      }),
    );
    const reader = response!.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toMatch(/^data: \{/);
    await reader.cancel();
    expect(engineSignals.at(-1)?.aborted).toBe(true);
  });

  it('answers bad JSON, unknown paths and wrong methods with OpenAI error bodies, and leaves other paths alone', async () => {
    const post = (path: string, body: string) =>
      handler(new Request(`${BASE}${path}`, { method: 'POST', body }));
    const bad = await post('/chat/completions', '{not json');
    expect(bad!.status).toBe(400);
    expect(((await bad!.json()) as { error: { code: string } }).error.code).toBe('invalid_json');
    expect((await post('/embeddings', '{}'))!.status).toBe(404);
    expect((await handler(new Request(`${BASE}/chat/completions`)))!.status).toBe(405);
    expect(await handler(new Request('http://llava.local/index.html'))).toBeNull();
  });
});
