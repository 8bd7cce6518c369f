// The OpenAI chat adapter over the real engine (a generated tiny LLaVA on onnxruntime-node): every refused field is
// named and never reaches the engine, completion and chunk shapes, streaming equals non-streaming, final usage,
// stop strings, abort mid-stream, a reader leaving early, pictures of each kind, and a multi-turn exchange that
// reuses the KV cache and gives the engine's own greedy tokens.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChatCompletions, translateRequest, type ChatCompletions } from '../../src/openai/completions';
import type { OpenAIApiError } from '../../src/openai/errors';
import type {
  ChatCompletionChunk,
  ChatCompletionCreateParams,
  ChatCompletionCreateParamsNonStreaming,
} from '../../src/openai/types';
import { isAbortError } from '../../src/shared/abort';
import type {
  ChatMessage,
  ChatRequest,
  EngineApi,
  OperationOptions,
  GenerationEvent,
} from '../../src/shared/protocol';
import { getTinyModel } from '../fixtures/tiny-model';
import { drawScene } from '../fixtures/micro-model';
import { rawImage } from '../../src/training/eval/evaluate';
import { dataUrlOf, pngEngine, pngOf } from './helpers/openai-engine';

let engine: EngineApi;
/** Every engine chat the adapter started, with the signal it was given. */
const calls: { request: ChatRequest; signal: AbortSignal | undefined }[] = [];
let completions: ChatCompletions;
let modelId: string;
let server: Server;
let origin: string;

const scene = drawScene([{ slot: 'left', color: 'red', shape: 'circle' }]);
const png = pngOf(scene);
const greedy = { temperature: 0 } as const;
const ask = (text = 'What is in the picture?'): ChatCompletionCreateParams['messages'] => [
  { role: 'user', content: text },
];

async function collect(stream: AsyncIterable<ChatCompletionChunk>): Promise<ChatCompletionChunk[]> {
  const chunks: ChatCompletionChunk[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

const textOf = (chunks: ChatCompletionChunk[]) =>
  chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');

beforeAll(async () => {
  engine = await pngEngine(getTinyModel('tiny').dir);
  const spied: EngineApi = {
    ...engine,
    chat(request: ChatRequest, op?: OperationOptions<GenerationEvent>) {
      calls.push({ request, signal: op?.signal });
      return engine.chat(request, op);
    },
  };
  completions = createChatCompletions({ engine: spied });
  modelId = (await engine.status()).model!.id;
  server = createServer((req, res) => {
    if (req.url === '/scene.png') res.writeHead(200, { 'Content-Type': 'image/png' }).end(png);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 120_000);

afterAll(async () => {
  await engine?.unload();
  await new Promise((resolve) => server?.close(resolve));
});

describe('request validation', () => {
  const refusals: [string, Record<string, unknown>, string, string][] = [
    ['tools', { tools: [{ type: 'function', function: { name: 'f' } }] }, 'tools', 'unsupported_parameter'],
    ['n > 1', { n: 2 }, 'n', 'unsupported_parameter'],
    ['logprobs', { logprobs: true }, 'logprobs', 'unsupported_parameter'],
    ['audio output', { audio: { voice: 'alloy', format: 'mp3' } }, 'audio', 'unsupported_parameter'],
    ['an unknown field', { frobnicate: 1 }, 'frobnicate', 'unknown_parameter'],
    ['temperature above 2', { temperature: 3 }, 'temperature', 'invalid_value'],
    ['top_p of a string', { top_p: 'high' }, 'top_p', 'invalid_type'],
    ['max_tokens of 0', { max_tokens: 0 }, 'max_tokens', 'invalid_value'],
    ['five stop strings', { stop: ['a', 'b', 'c', 'd', 'e'] }, 'stop', 'invalid_value'],
    [
      'stream_options without stream',
      { stream_options: { include_usage: true } },
      'stream_options',
      'invalid_value',
    ],
    ['no messages', { messages: [] }, 'messages', 'empty_array'],
    [
      'a tool message',
      { messages: [...ask(), { role: 'tool', content: 'x', tool_call_id: '1' }] },
      'messages[1].role',
      'unsupported_value',
    ],
    [
      'an audio part',
      {
        messages: [
          { role: 'user', content: [{ type: 'input_audio', input_audio: { data: '', format: 'wav' } }] },
        ],
      },
      'messages[0].content[0].type',
      'unsupported_value',
    ],
    [
      'an ftp picture',
      {
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'hi' },
              { type: 'image_url', image_url: { url: 'ftp://example.com/a.png' } },
            ],
          },
        ],
      },
      'messages[0].content[1].image_url.url',
      'invalid_image_url',
    ],
    [
      'a picture that cannot be fetched',
      {
        messages: [
          { role: 'user', content: [{ type: 'image_url', image_url: { url: 'http://127.0.0.1:9/x.png' } }] },
        ],
      },
      'messages[0].content[0].image_url.url',
      'invalid_image_url',
    ],
    [
      'a message name',
      { messages: [{ role: 'user', content: 'hi', name: 'ann' }] },
      'messages[0].name',
      'unsupported_parameter',
    ],
    ['an unknown extension', { llava: { warp: 9 } }, 'llava.warp', 'unknown_parameter'],
  ];

  it.each(refusals)(
    'refuses %s, naming the field, without running the engine',
    async (_, fields, param, code) => {
      const before = calls.length;
      const error = (await completions
        .create({ messages: ask(), ...fields } as ChatCompletionCreateParams)
        .then(
          () => null,
          (e: unknown) => e,
        )) as OpenAIApiError | null;
      expect(error).not.toBeNull();
      expect(error!.toJSON()).toEqual({
        error: { message: expect.any(String), type: 'invalid_request_error', param, code },
      });
      expect(error!.status).toBe(400);
      expect(error!.message).toContain(param.split(/[.[]/)[0]);
      expect(calls.length).toBe(before);
    },
  );

  it('refuses a model that is not the loaded one with 404 model_not_found', async () => {
    const error = (await completions
      .create({ model: 'gpt-4o', messages: ask() })
      .catch((e: unknown) => e)) as OpenAIApiError;
    expect([error.status, error.param, error.code]).toEqual([404, 'model', 'model_not_found']);
    expect(error.message).toContain(modelId);
  });

  it('accepts the no-op values OpenAI clients send (n: 1, logprobs: false, null fields, developer role)', async () => {
    const done = await completions.create({
      model: modelId,
      messages: [{ role: 'developer', content: 'Be brief.' }, ...ask()],
      n: 1,
      logprobs: false,
      seed: null,
      max_completion_tokens: 2,
      ...greedy,
    } as ChatCompletionCreateParamsNonStreaming);
    expect(done.choices[0]!.message.role).toBe('assistant');
    expect(calls.at(-1)!.request.messages[0]!.role).toBe('system');
  });
});

describe('answers in OpenAI shapes', () => {
  it('returns a chat.completion whose text and usage match the engine, and streams the same text', async () => {
    const mine = await engine.chat({ messages: ask() as ChatMessage[], sampling: { maxNewTokens: 6 } });
    const done = await completions.create({ messages: ask(), max_tokens: 6, ...greedy });
    expect(done).toEqual({
      id: expect.stringMatching(/^chatcmpl-[0-9a-f]{24}$/),
      object: 'chat.completion',
      created: expect.any(Number),
      model: modelId,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: mine.message.content, refusal: null },
          logprobs: null,
          finish_reason: mine.finishReason,
        },
      ],
      usage: {
        prompt_tokens: mine.usage.promptTokens,
        completion_tokens: mine.usage.completionTokens,
        total_tokens: mine.usage.promptTokens + mine.usage.completionTokens,
        prompt_tokens_details: { cached_tokens: expect.any(Number) },
      },
    });
    expect(Math.abs(done.created - Date.now() / 1000)).toBeLessThan(60);
    expect(done.choices[0]!.finish_reason).toBe('length');

    const chunks = await collect(
      await completions.create({
        messages: ask(),
        max_tokens: 6,
        stream: true,
        stream_options: { include_usage: true },
        ...greedy,
      }),
    );
    expect(textOf(chunks)).toBe(mine.message.content);
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
    expect(chunks.every((c) => c.object === 'chat.completion.chunk' && c.model === modelId)).toBe(true);
    expect(chunks[0]!.choices[0]!.delta).toEqual({ role: 'assistant', content: '' });
    const [finish, usage] = chunks.slice(-2);
    expect(finish!.choices).toEqual([{ index: 0, delta: {}, logprobs: null, finish_reason: 'length' }]);
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
    expect(usage!.choices).toEqual([]);
    expect(usage!.usage).toMatchObject({
      prompt_tokens: mine.usage.promptTokens,
      completion_tokens: 6,
      total_tokens: mine.usage.promptTokens + 6,
    });
  });

  it('leaves usage out of a stream unless asked', async () => {
    const chunks = await collect(
      await completions.create({ messages: ask(), max_tokens: 3, stream: true, ...greedy }),
    );
    expect(chunks.every((c) => !('usage' in c) && c.choices.length === 1)).toBe(true);
    expect(chunks.at(-1)!.choices[0]!.finish_reason).toBe('length');
  });

  it('ends the answer before a stop string, with finish_reason stop, streaming or not', async () => {
    const full = (await completions.create({ messages: ask(), max_tokens: 24, ...greedy })).choices[0]!
      .message.content;
    // A stop string from the middle of the greedy answer: the answer must end just before its first occurrence.
    const stop = full.slice(Math.floor(full.length / 2), Math.floor(full.length / 2) + 3);
    expect(stop.length).toBe(3);
    const expected = full.slice(0, full.indexOf(stop));
    const done = await completions.create({
      messages: ask(),
      max_tokens: 24,
      stop: [stop, 'never-seen'],
      ...greedy,
    });
    expect(done.choices[0]).toMatchObject({ message: { content: expected }, finish_reason: 'stop' });
    const chunks = await collect(
      await completions.create({ messages: ask(), max_tokens: 24, stop, stream: true, ...greedy }),
    );
    expect(textOf(chunks)).toBe(expected);
    expect(chunks.at(-1)!.choices[0]!.finish_reason).toBe('stop');
  });

  it('ends a stream with an AbortError when its signal fires mid-answer, and the engine answers the next call', async () => {
    const controller = new AbortController();
    const stream = await completions.create(
      { messages: ask(), max_tokens: 200, stream: true, ...greedy },
      { signal: controller.signal },
    );
    const seen: string[] = [];
    const error = await (async () => {
      for await (const chunk of stream) {
        seen.push(chunk.choices[0]?.delta.content ?? '');
        if (seen.length === 3) controller.abort();
      }
    })().catch((e: unknown) => e);
    expect(isAbortError(error)).toBe(true);
    expect(seen.length).toBeLessThan(200);
    const next = await completions.create({ messages: ask(), max_tokens: 2, ...greedy });
    expect(next.usage.completion_tokens).toBe(2);
  });

  it('stops generating when the reader leaves the loop early', async () => {
    const stream = await completions.create({ messages: ask(), max_tokens: 200, stream: true, ...greedy });
    for await (const chunk of stream) if (chunk.choices[0]?.delta.content) break;
    expect(calls.at(-1)!.signal?.aborted).toBe(true);
  });
});

describe('pictures', () => {
  it('reads a data: URL, a blob: URL, an http URL and a Blob as the same picture the engine sees as pixels', async () => {
    const question = 'Describe the image in detail.';
    const mine = await engine.chat({
      messages: [
        {
          role: 'user',
          content: [
            { type: 'image', image: rawImage(scene) },
            { type: 'text', text: question },
          ],
        },
      ],
      sampling: { maxNewTokens: 8 },
    });
    const blob = new Blob([png], { type: 'image/png' });
    const blobUrl = URL.createObjectURL(blob);
    const sources = [dataUrlOf(png), blobUrl, `${origin}/scene.png`, blob];
    for (const url of sources) {
      const done = await completions.create({
        messages: [
          {
            role: 'user',
            content: [
              { type: 'image_url', image_url: { url } },
              { type: 'text', text: question },
            ],
          },
        ],
        max_tokens: 8,
        ...greedy,
      });
      expect(done.choices[0]!.message.content).toBe(mine.message.content);
    }
    URL.revokeObjectURL(blobUrl);
  });

  it('answers an undecodable picture with 400 invalid_image', async () => {
    const error = (await completions
      .create({
        messages: [
          {
            role: 'user',
            content: [{ type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } }],
          },
        ],
      })
      .catch((e: unknown) => e)) as OpenAIApiError;
    expect([error.status, error.code, error.type]).toEqual([400, 'invalid_image', 'invalid_request_error']);
  });
});

describe('a multi-turn exchange', () => {
  it('reuses the KV cache across calls and gives the greedy tokens of the engine’s own API', async () => {
    const first: ChatCompletionCreateParams['messages'] = [
      {
        role: 'user',
        content: [
          { type: 'image_url', image_url: { url: dataUrlOf(png) } },
          { type: 'text', text: 'What is it?' },
        ],
      },
    ];
    const llava = { conversation_id: 'openai-multi-turn' };
    const a1 = (await completions.create({ messages: first, max_tokens: 6, llava, ...greedy })).choices[0]!
      .message.content;
    const second = [
      ...first,
      { role: 'assistant' as const, content: a1 },
      { role: 'user' as const, content: 'And then?' },
    ];
    const r2 = await completions.create({ messages: second, max_tokens: 6, llava, ...greedy });
    expect(r2.usage.prompt_tokens_details.cached_tokens).toBeGreaterThan(r2.usage.prompt_tokens / 2);

    // The same two turns through the engine's own API, in a conversation of their own, from a cold cache.
    await engine.forget();
    const own = (text: string): ChatMessage => ({ role: 'user', content: text });
    const picture: ChatMessage = {
      role: 'user',
      content: [
        { type: 'image', image: rawImage(scene) },
        { type: 'text', text: 'What is it?' },
      ],
    };
    const e1 = await engine.chat({
      messages: [picture],
      sampling: { maxNewTokens: 6 },
      conversationId: 'own',
    });
    const e2 = await engine.chat({
      messages: [picture, e1.message, own('And then?')],
      sampling: { maxNewTokens: 6 },
      conversationId: 'own',
    });
    expect([a1, r2.choices[0]!.message.content]).toEqual([e1.message.content, e2.message.content]);
    expect(r2.usage.prompt_tokens).toBe(e2.usage.promptTokens);
  });
});

describe('working ahead (the library’s prepare)', () => {
  it('prefills an OpenAI-shaped draft so that the call that follows reuses the whole prompt', async () => {
    const body = {
      messages: ask('A question typed ahead?'),
      max_tokens: 3,
      llava: { conversation_id: 'ahead' },
      ...greedy,
    };
    const { request } = await translateRequest({ engine }, body);
    const prepared = await engine.prepare(request);
    const done = await completions.create(body);
    expect(prepared.cachedTokens).toBe(done.usage.prompt_tokens);
    expect(done.usage.prompt_tokens_details.cached_tokens).toBe(done.usage.prompt_tokens);
  });
});
