// Owns one model's measurements in the GPU pack, through the project's engine (src/node/node-engine.ts with the
// runtime and backend the pack chose): vision encode, prefill of a picture + question, decode near 600 and 2,000
// tokens of context, and a follow-up question's first token with the KV cache kept vs re-prefilled. Node-only.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { BackendDescriptor, OrtRuntime } from '../../../src/engine/runtime';
import { createTokenizer, type TextTokenizer } from '../../../src/engine/tokenizer';
import { folderSource } from '../../../src/node/folder-source';
import { nodeEngine } from '../../../src/node/node-engine';
import type { ModelSource } from '../../../src/shared/model-source';
import type { ChatMessage, ChatResult, EngineApi, RawImage } from '../../../src/shared/protocol';
import { bytesPerToken } from '../bench-model';
import { decodeSplit, runMark, runsSince } from '../run-log';
import type { LlavaHfConfig } from '../../../src/modelgen/llava/types';
import { PACK_DTYPES } from './pack-models';

export interface ModelMeasurement {
  loadS: number;
  visionMs: number;
  /** The first turn's prompt (image tokens + text) and how long its prefill runs took. */
  prefillTokens: number;
  prefillMs: number;
  /** Decode steps per second, and the context they ran at (the prompt's length). */
  decodeShort: DecodeSpeed;
  decodeLong: DecodeSpeed;
  followUp: { promptTokens: number; reusedTokens: number; reuseMs: number; reprefillMs: number };
  /** Bytes one decode step reads: the decoder's weights, and the KV cache per position of context. */
  decoderBytes: number;
  kvBytesPerPosition: number;
}

export interface DecodeSpeed {
  context: number;
  steps: number;
  tokPerS: number;
}

/** The words questions and filler are made of: the generator's tokenizer was trained on such English. */
const FILLER =
  'Describe the picture in detail, name every shape you can see, say what colour each one has and where it lies. ';

/**
 * A deterministic square picture: a gradient with a few blocks, so preprocessing has real work to do. Another
 * `variant` is another picture (the engine caches features per picture).
 */
export function packPicture(size: number, variant = 0): RawImage {
  const data = new Uint8ClampedArray(size * size * 4);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = (y * size + x) * 4;
      const block = ((x >> 5) + (y >> 5)) % 3;
      data[i] = block === 0 ? 220 - variant : (x + variant) % 256;
      data[i + 1] = block === 1 ? 200 : y % 256;
      data[i + 2] = block === 2 ? 180 : (x + y) % 256;
      data[i + 3] = 255;
    }
  }
  return { width: size, height: size, data };
}

/** Text of about `tokens` tokens (counted with the model's own tokenizer). */
function textOfTokens(tokenizer: TextTokenizer, tokens: number): string {
  const words = FILLER.repeat(Math.ceil(tokens / 8) + 4).split(' ');
  let lo = 1;
  let hi = words.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (tokenizer.encode(words.slice(0, mid).join(' '), false).length >= tokens) hi = mid;
    else lo = mid + 1;
  }
  return words.slice(0, lo).join(' ');
}

function folderTokenizer(dir: string): TextTokenizer {
  const read = (name: string): unknown => JSON.parse(readFileSync(path.join(dir, name), 'utf8'));
  return createTokenizer(read('tokenizer.json'), read('tokenizer_config.json'));
}

/** Prefill (the decoder runs over several rows before the first one-row step) and vision runs since `mark`. */
function splitRuns(mark: number): { visionMs: number; prefillRows: number; prefillMs: number } {
  const runs = runsSince(mark);
  const firstStep = runs.findIndex((r) => r.rows === 1);
  const before = firstStep < 0 ? runs : runs.slice(0, firstStep);
  const prefill = before.filter((r) => r.rows > 1);
  return {
    visionMs: runs.filter((r) => r.vision).reduce((a, r) => a + (r.end - r.start), 0),
    prefillRows: prefill.reduce((a, r) => a + r.rows, 0),
    prefillMs: prefill.reduce((a, r) => a + (r.end - r.start), 0),
  };
}

function decodeSpeed(mark: number, result: ChatResult): DecodeSpeed {
  const split = decodeSplit(mark);
  return {
    context: result.usage.promptTokens,
    steps: split?.steps ?? 0,
    tokPerS: split && split.wallMs > 0 ? (split.steps / split.wallMs) * 1000 : Number.NaN,
  };
}

/** Lets the work the engine queues after an answer (running the next turn's opening ids) finish first. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 300));

export interface MeasureOptions {
  ort: OrtRuntime;
  backend: BackendDescriptor;
  newTokens: number;
  log: (line: string) => void;
}

/** Loads the model in `dir` on the backend and runs the four-turn script; unloads it afterwards. */
export async function measureModel(
  dir: string,
  config: LlavaHfConfig,
  o: MeasureOptions,
): Promise<ModelMeasurement> {
  const tokenizer = folderTokenizer(dir);
  const t0 = performance.now();
  // onnxruntime-web's browser build takes bytes, not file paths: hide the folder's paths from the loader.
  const source: ModelSource = { ...folderSource(dir) };
  delete source.localPath;
  const engine: EngineApi = await nodeEngine(source, {
    ort: o.ort,
    selectBackend: async () => o.backend,
    load: { dtype: PACK_DTYPES, device: o.backend.name },
  });
  const loadS = (performance.now() - t0) / 1000;
  try {
    const sampling = { temperature: 0, maxNewTokens: o.newTokens };
    const ask = (variant: number): ChatMessage[] => [
      {
        role: 'user',
        content: [
          { type: 'image', image: packPicture(config.vision_config.image_size, variant) },
          { type: 'text', text: textOfTokens(tokenizer, 40) },
        ],
      },
    ];
    // First runs compile kernels (WebGPU pipelines) and warm caches: a turn about another picture takes them.
    await engine.chat({
      messages: ask(1),
      sampling: { ...sampling, maxNewTokens: 4 },
      conversationId: 'warm-up',
    });
    await engine.forget();
    const first = ask(0);
    let mark = runMark();
    const r1 = await engine.chat({ messages: first, sampling, conversationId: 'a' });
    const turn1 = splitRuns(mark);
    const decodeShort = decodeSpeed(mark, r1);
    o.log(`  turn 1: ${r1.usage.promptTokens} prompt tokens, ${r1.usage.completionTokens} new`);
    await settle();

    const second: ChatMessage[] = [
      ...first,
      {
        role: 'assistant',
        content: r1.message.content,
        ...(r1.message.tokens ? { tokens: r1.message.tokens } : {}),
      },
      { role: 'user', content: textOfTokens(tokenizer, 12) },
    ];
    const r2 = await engine.chat({
      messages: second,
      sampling: { ...sampling, maxNewTokens: 1 },
      conversationId: 'a',
    });
    // The same follow-up with nothing kept: the whole conversation is prefilled again (the picture's features stay
    // cached, as they would in the app).
    await engine.forget();
    const r2b = await engine.chat({
      messages: second,
      sampling: { ...sampling, maxNewTokens: 1 },
      conversationId: 'b',
    });
    o.log(`  follow-up: ${r2.usage.reusedPromptTokens ?? 0}/${r2.usage.promptTokens} reused`);
    await settle();

    const third: ChatMessage[] = [
      ...second,
      {
        role: 'assistant',
        content: r2b.message.content,
        ...(r2b.message.tokens ? { tokens: r2b.message.tokens } : {}),
      },
    ];
    const longTarget = 2000 - r2b.usage.promptTokens - 2 - Math.floor(o.newTokens / 2);
    third.push({ role: 'user', content: textOfTokens(tokenizer, Math.max(1, longTarget)) });
    mark = runMark();
    const r3 = await engine.chat({ messages: third, sampling, conversationId: 'b' });
    const decodeLong = decodeSpeed(mark, r3);
    o.log(`  long turn: ${r3.usage.promptTokens} prompt tokens, ${r3.usage.completionTokens} new`);

    const bytes = bytesPerToken({ dir, config, builtInS: 0 }, PACK_DTYPES.decoder_model_merged, 1);
    return {
      loadS,
      visionMs: turn1.visionMs,
      prefillTokens: turn1.prefillRows,
      prefillMs: turn1.prefillMs,
      decodeShort,
      decodeLong,
      followUp: {
        promptTokens: r2.usage.promptTokens,
        reusedTokens: r2.usage.reusedPromptTokens ?? 0,
        reuseMs: r2.usage.timeToFirstTokenMs,
        reprefillMs: r2b.usage.timeToFirstTokenMs,
      },
      decoderBytes: bytes.weights,
      kvBytesPerPosition: bytes.kv,
    };
  } finally {
    await engine.unload();
  }
}
