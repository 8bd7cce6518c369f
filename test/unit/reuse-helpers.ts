// Shared setup for the reuse tests: an onnxruntime-node runtime that counts session runs per component and records
// the shape of every logits output, and an engine over it. Test-only; no assertions here.

import * as ort from 'onnxruntime-node';
import type { EngineDeps } from '../../src/engine/engine';
import type { OrtRuntime, OrtSession } from '../../src/engine/runtime';
import { createNodeEngine } from '../../src/node/node-engine';
import type { ChatMessage, ChatResult, EngineApi } from '../../src/shared/protocol';

export interface RunLog {
  /** Runs per session kind: 'vision', 'embed', 'decoder'. */
  runs: Record<'vision' | 'embed' | 'decoder', number>;
  /** dims of each logits output the decoder returned, in order. */
  logitDims: number[][];
}

function kindOf(session: OrtSession): keyof RunLog['runs'] {
  if (session.inputNames.includes('pixel_values')) return 'vision';
  if (session.inputNames.includes('input_ids')) return 'embed';
  return 'decoder';
}

/** onnxruntime-node with every session's run() counted (the sessions themselves are the real ones). */
export function countingOrt(): { ort: OrtRuntime; log: RunLog } {
  const log: RunLog = { runs: { vision: 0, embed: 0, decoder: 0 }, logitDims: [] };
  const create = (async (...args: Parameters<typeof ort.InferenceSession.create>) => {
    const session = await ort.InferenceSession.create(...args);
    const kind = kindOf(session);
    const run = session.run.bind(session) as (...a: unknown[]) => Promise<Record<string, ort.Tensor>>;
    (session as { run: unknown }).run = async (...a: unknown[]) => {
      log.runs[kind]++;
      const out = await run(...a);
      if (out.logits) log.logitDims.push([...out.logits.dims]);
      return out;
    };
    return session;
  }) as typeof ort.InferenceSession.create;
  return { ort: { Tensor: ort.Tensor, InferenceSession: { create } as OrtRuntime['InferenceSession'] }, log };
}

/** A loaded fp32 engine over a model folder on the CPU EP, with a run log. */
export async function countedEngine(
  dir: string,
  extra: Partial<Omit<EngineDeps, 'ort' | 'openSource' | 'selectBackend'>> = {},
): Promise<{ engine: EngineApi; log: RunLog }> {
  const { ort: counted, log } = countingOrt();
  const engine = createNodeEngine(dir, { ...extra, ort: counted });
  await engine.load({ kind: 'local', id: 'test' }, { dtype: 'fp32' });
  return { engine, log };
}

/** The KV positions a finished turn leaves for the next one: its prompt and every answer id fed back. */
export function cachedAfter(turn: ChatResult): number {
  // The last sampled id (an EOS, or the token that hit the length limit) never runs through the decoder.
  return turn.usage.promptTokens + turn.usage.completionTokens - 1;
}

/** Appends an answer and a follow-up question to a conversation. */
export function followUp(history: ChatMessage[], answer: string, question: string): ChatMessage[] {
  return [...history, { role: 'assistant', content: answer }, { role: 'user', content: question }];
}
