// Runs a converted folder in onnxruntime-node without the engine: vision encoder, embed_tokens, and the decoder
// shards chained as config.json's `llava_browser.decoder_shards` lists them (hidden_states_out → hidden_states).
// Test-only, written from the folder's contract so that it checks the converter, not src/engine.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';

interface ShardEntry {
  file: string;
  layers: [number, number];
}

const SUFFIX: Record<string, string> = { fp32: '', fp16: '_fp16', q8: '_quantized', q4: '_q4' };

const i64 = (values: readonly number[], dims: number[]): ort.Tensor =>
  new ort.Tensor('int64', BigInt64Array.from(values.map(BigInt)), dims);

export class ConvertedModel {
  private constructor(
    readonly config: Record<string, unknown>,
    private readonly vision: ort.InferenceSession,
    private readonly embedder: ort.InferenceSession,
    readonly shards: Array<{ entry: ShardEntry; session: ort.InferenceSession }>,
    private readonly hidden: number,
    private readonly kv: { heads: number; dim: number },
  ) {}

  static async open(dir: string): Promise<ConvertedModel> {
    const config = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    const dtypes = (config['transformers.js_config'] as { dtype: Record<string, string> }).dtype;
    const open = (file: string): Promise<ort.InferenceSession> =>
      ort.InferenceSession.create(path.join(dir, file));
    const block = config.llava_browser as { decoder_shards: ShardEntry[] };
    const shards = [];
    for (const entry of block.decoder_shards) shards.push({ entry, session: await open(entry.file) });
    const t = config.text_config as Record<string, number>;
    const heads = t.num_attention_heads as number;
    return new ConvertedModel(
      config,
      await open(`onnx/vision_encoder${SUFFIX[dtypes.vision_encoder as string]}.onnx`),
      await open(`onnx/embed_tokens${SUFFIX[dtypes.embed_tokens as string]}.onnx`),
      shards,
      t.hidden_size as number,
      { heads: t.num_key_value_heads ?? heads, dim: (t.hidden_size as number) / heads },
    );
  }

  get imageTokenId(): number {
    return this.config.image_token_index as number;
  }

  async imageFeatures(pixels: Float32Array, size: number): Promise<Float32Array> {
    const out = await this.vision.run({
      pixel_values: new ort.Tensor('float32', pixels, [1, 3, size, size]),
    });
    return out.image_features!.data as Float32Array;
  }

  async embed(ids: readonly number[]): Promise<Float32Array> {
    const out = await this.embedder.run({ input_ids: i64(ids, [1, ids.length]) });
    return Float32Array.from(out.inputs_embeds!.data as Float32Array);
  }

  /** One decoder pass through every shard; logits for every new position. */
  async step(embeds: Float32Array, seq: number, past: Map<string, ort.Tensor>, pastLen: number) {
    const total = pastLen + seq;
    let x: ort.Tensor = new ort.Tensor('float32', embeds, [1, seq, this.hidden]);
    const present = new Map<string, ort.Tensor>();
    let logits: ort.Tensor | undefined;
    for (const [k, { entry, session }] of this.shards.entries()) {
      const feeds: Record<string, ort.Tensor> = {
        [k === 0 ? 'inputs_embeds' : 'hidden_states']: x,
        attention_mask: i64(new Array<number>(total).fill(1), [1, total]),
        position_ids: i64(
          Array.from({ length: seq }, (_, i) => pastLen + i),
          [1, seq],
        ),
      };
      if (session.inputNames.includes('num_logits_to_keep')) feeds.num_logits_to_keep = i64([0], []);
      for (let l = entry.layers[0]; l < entry.layers[1]; l++) {
        for (const kind of ['key', 'value']) {
          const name = `past_key_values.${l}.${kind}`;
          feeds[name] =
            past.get(name) ??
            new ort.Tensor('float32', new Float32Array(0), [1, this.kv.heads, 0, this.kv.dim]);
        }
      }
      const out = await session.run(feeds);
      for (const [name, t] of Object.entries(out)) {
        if (name.startsWith('present.')) present.set(name.replace(/^present/, 'past_key_values'), t);
      }
      if (k < this.shards.length - 1) x = out.hidden_states_out!;
      else logits = out.logits;
    }
    return { logits: logits!.data as Float32Array, present };
  }

  /** Prefill logits [T × V] for `ids`, image features written over the image-token rows. */
  async prefill(
    ids: readonly number[],
    pixels?: { data: Float32Array; size: number },
  ): Promise<Float32Array> {
    return (await this.prefillWithCache(ids, pixels)).logits;
  }

  private async prefillWithCache(ids: readonly number[], pixels?: { data: Float32Array; size: number }) {
    const embeds = await this.embed(ids);
    if (pixels) {
      const f = await this.imageFeatures(pixels.data, pixels.size);
      let row = 0;
      ids.forEach((id, t) => {
        if (id === this.imageTokenId)
          embeds.set(f.subarray(row * this.hidden, ++row * this.hidden), t * this.hidden);
      });
    }
    return this.step(embeds, ids.length, new Map(), 0);
  }

  /** Greedy decoding with the KV cache: the tokens and each step's last-position logits. */
  async greedy(ids: readonly number[], steps: number, pixels?: { data: Float32Array; size: number }) {
    let { logits, present } = await this.prefillWithCache(ids, pixels);
    const vocab = logits.length / ids.length;
    const tokens: number[] = [];
    const allLogits: Float32Array[] = [];
    let len = ids.length;
    let last: Float32Array = logits.slice(logits.length - vocab);
    for (let s = 0; s < steps; s++) {
      allLogits.push(last);
      let best = 0;
      for (let j = 1; j < vocab; j++) if (last[j]! > last[best]!) best = j;
      tokens.push(best);
      ({ logits, present } = await this.step(await this.embed([best]), 1, present, len));
      len++;
      last = logits;
    }
    return { tokens, logits: allLogits };
  }

  async release(): Promise<void> {
    await Promise.all([
      this.vision.release(),
      this.embedder.release(),
      ...this.shards.map((s) => s.session.release()),
    ]);
  }
}
