// Embedding rows are reused by token id: a decode step whose token was embedded before skips embed_tokens, and the
// rows handed back are exactly what the embed session computes.
import { describe, expect, it } from 'vitest';
import { loadModel } from '../../src/engine/model-loader';
import { folderSource } from '../../src/node/folder-source';
import { getTinyModel } from '../fixtures/tiny-model';
import { CPU_BACKEND, imageQuestion, picture } from './engine-helpers';
import { countedEngine, countingOrt } from './reuse-helpers';

describe('embedding rows by token id (tiny)', () => {
  it('embeds each new id once and returns the rows embed_tokens computes', async () => {
    const dir = getTinyModel('tiny').dir;
    const { ort, log } = countingOrt();
    const model = await loadModel({ ort, source: folderSource(dir), backend: CPU_BACKEND, dtype: 'fp32' });
    const hidden = model.config.text.hiddenSize;
    const ids = [5, 17, 5, 300, 17];
    const rows = await model.decoder.embed(ids);
    expect(log.runs.embed).toBe(1);
    const session = await ort.InferenceSession.create(`${dir}/onnx/embed_tokens.onnx`);
    const direct = await session.run({
      input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, ids.length]),
    });
    expect(Array.from(rows)).toEqual(Array.from(direct.inputs_embeds?.data as Float32Array));
    const runsBefore = log.runs.embed;
    const again = await model.decoder.embed([300, 5]);
    expect(log.runs.embed).toBe(runsBefore);
    expect(Array.from(again)).toEqual(
      Array.from(rows.slice(3 * hidden, 4 * hidden)).concat(Array.from(rows.slice(0, hidden))),
    );
    // Callers may write into what they get (image rows are merged in place): the cache must not change.
    again.fill(0);
    expect(Array.from(await model.decoder.embed([5]))).toEqual(Array.from(rows.slice(0, hidden)));
    await session.release();
    await model.release();
  });

  it('a chat runs embed_tokens only for ids it has not embedded yet', async () => {
    const { engine, log } = await countedEngine(getTinyModel('tiny').dir);
    const r = await engine.chat({
      messages: [imageQuestion(picture(32, 32, 3), 'What is this?')],
      sampling: { maxNewTokens: 24 },
    });
    expect(r.usage.completionTokens).toBe(24);
    // One run for the prompt, then one per decode step whose token was new: the random model repeats itself.
    expect(log.runs.embed).toBeGreaterThanOrEqual(1);
    expect(log.runs.embed).toBeLessThan(r.usage.completionTokens);
  });
});
