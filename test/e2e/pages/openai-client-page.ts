// Test page script: the `openai` npm package, unchanged, with baseURL set to this page's origin + '/v1'; the app's
// service worker relays those requests to this page, which serves them with the library (createLlava + serveOpenAI).
// Built only into the e2e build; returns plain results to Playwright.
import OpenAI from 'openai';
import { createLlava, type Llava } from '../../../src/lib';

let llava: Llava | null = null;

export interface ClientRun {
  streamed: string;
  chunks: number;
  finish: string | null;
  usage: { prompt_tokens: number; completion_tokens: number } | null;
  whole: string;
  models: string[];
  refusal: { status: number | undefined; param: string | null | undefined };
}

async function controlled(): Promise<void> {
  await navigator.serviceWorker.register('/service-worker.js', { scope: '/' });
  if (navigator.serviceWorker.controller) return;
  await new Promise((resolve) =>
    navigator.serviceWorker.addEventListener('controllerchange', resolve, { once: true }),
  );
}

function pngBlob(base64: string): Blob {
  return new Blob([Uint8Array.from(atob(base64), (c) => c.charCodeAt(0))], { type: 'image/png' });
}

const harness = {
  /** Registers the service worker, loads the model through the library and starts serving `/v1`. */
  async start(modelUrl: string): Promise<string> {
    await controlled();
    llava = await createLlava({ model: modelUrl, device: 'wasm', dtype: 'fp32' });
    llava.serveOpenAI();
    return (await llava.status()).model!.id;
  },

  /** Streams an answer about a picture (data: URL), then asks the same without streaming (blob: URL). */
  async ask(pngBase64: string, question: string): Promise<ClientRun> {
    const client = new OpenAI({
      baseURL: `${location.origin}/v1`,
      apiKey: 'unused-locally',
      dangerouslyAllowBrowser: true,
      maxRetries: 0,
    });
    const models: string[] = [];
    for await (const model of client.models.list()) models.push(model.id);
    const messages = (url: string): OpenAI.ChatCompletionMessageParam[] => [
      {
        role: 'user',
        content: [
          { type: 'image_url', image_url: { url } },
          { type: 'text', text: question },
        ],
      },
    ];
    const stream = await client.chat.completions.create({
      model: models[0]!,
      messages: messages(`data:image/png;base64,${pngBase64}`),
      temperature: 0,
      max_tokens: 60,
      stream: true,
      stream_options: { include_usage: true },
    });
    let streamed = '';
    let chunks = 0;
    let finish: string | null = null;
    let usage: ClientRun['usage'] = null;
    for await (const chunk of stream) {
      chunks++;
      streamed += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    const blobUrl = URL.createObjectURL(pngBlob(pngBase64));
    const whole = await client.chat.completions.create({
      model: models[0]!,
      messages: messages(blobUrl),
      temperature: 0,
      max_tokens: 60,
    });
    URL.revokeObjectURL(blobUrl);
    const refused = await client.chat.completions
      .create({ model: models[0]!, messages: messages(blobUrl), n: 3 })
      .then(
        () => null,
        (error: unknown) => error as InstanceType<typeof OpenAI.APIError>,
      );
    return {
      streamed,
      chunks,
      finish,
      usage,
      whole: whole.choices[0]?.message.content ?? '',
      models,
      refusal: { status: refused?.status, param: refused?.param },
    };
  },
};

export type OpenAIClientHarness = typeof harness;
(globalThis as unknown as { harness: typeof harness }).harness = harness;
