// Owns evaluating a model folder on held-out questions through our engine (never the training code): exact match
// overall, per kind and per category, and the answers file in LLaVA's model_vqa format. Node-only (fs).

import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { ModelSource } from '../../engine/model-source';
import type { EngineApi, RawImage, TemplateName } from '../../shared/protocol';
import { readImage, readJsonl, FILES } from '../data/dataset';
import { normalizeAnswer } from '../data/language';
import type { EvalAnswer, EvalQuestion, EvalReference } from '../data/llava-format';
import { toRgba, type RgbImage } from '../data/render';
import { folderSource } from '../../node/folder-source';
import { NODE_CPU_BACKEND, nodeEngine } from '../../node/node-engine';

/**
 * Our engine as evaluation runs it, loaded fp32: one CPU thread (so scores are timed alike beside other jobs) and no
 * streamed token events (answers are read whole).
 */
export function evaluationEngine(source: string | ModelSource, signal?: AbortSignal): Promise<EngineApi> {
  const backend = { ...NODE_CPU_BACKEND, sessionOptions: { intraOpNumThreads: 1, interOpNumThreads: 1 } };
  return nodeEngine(source, {
    selectBackend: async () => backend,
    tokenEventIntervalMs: 1e9,
    ...(signal ? { signal } : {}),
  });
}

/**
 * A deliberate image-path fault, to show that accuracy and the meaning tests notice one: 'bgr' hands the engine
 * the pixels with red and blue swapped; 'no-normalize' serves a preprocessor_config.json with normalisation off, so
 * the engine's own preprocessing skips it.
 */
export type ImageFault = 'none' | 'bgr' | 'no-normalize';

/** A model source whose preprocessor_config.json has `do_normalize: false` (everything else passes through). */
export function withoutNormalisation(source: ModelSource): ModelSource {
  const patched: ModelSource = {
    id: `${source.id}-no-normalize`,
    read: async (p, o) => {
      const bytes = await source.read(p, o);
      if (p !== 'preprocessor_config.json') return bytes;
      const json = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
      return new TextEncoder().encode(JSON.stringify({ ...json, do_normalize: false }));
    },
    has: (p) => source.has(p),
  };
  if (source.localPath) patched.localPath = source.localPath.bind(source);
  if (source.size) patched.size = source.size.bind(source);
  return patched;
}

export interface EvalOptions {
  dataRoot: string;
  split: string;
  /** A model folder path or a ModelSource (e.g. one with a patched preprocessor_config.json). */
  model: string | ModelSource;
  modelId: string;
  template?: TemplateName;
  limit?: number;
  fault?: ImageFault;
  answersFile?: string;
  onProgress?: (done: number, total: number, correct: number) => void;
}

export interface Tally {
  correct: number;
  total: number;
}

export interface EvalReport {
  overall: Tally;
  byKind: Record<string, Tally>;
  byCategory: Record<string, Tally>;
  seconds: number;
  answers: EvalAnswer[];
}

/** RGBA for the engine; with the 'bgr' fault, red and blue are swapped. */
export function rawImage(img: RgbImage, fault: ImageFault = 'none'): RawImage {
  const rgba = toRgba(img);
  if (fault === 'bgr') {
    for (let i = 0; i < rgba.length; i += 4) {
      const r = rgba[i]!;
      rgba[i] = rgba[i + 2]!;
      rgba[i + 2] = r;
    }
  }
  return { width: img.width, height: img.height, data: rgba };
}

/** Asks one question about one image with greedy decoding; returns the answer text. */
export async function ask(
  engine: EngineApi,
  image: RawImage,
  question: string,
  template: TemplateName = 'model',
): Promise<string> {
  const result = await engine.chat({
    messages: [
      {
        role: 'user',
        content: [
          { type: 'image', image },
          { type: 'text', text: question },
        ],
      },
    ],
    sampling: { temperature: 0, maxNewTokens: 80 },
    template,
  });
  return result.message.content;
}

function bump(map: Record<string, Tally>, key: string, ok: boolean): void {
  const t = (map[key] ??= { correct: 0, total: 0 });
  t.total++;
  if (ok) t.correct++;
}

/** Runs every question of a split through the engine and scores exact match. */
export async function evaluate(o: EvalOptions): Promise<EvalReport> {
  const dir = path.join(o.dataRoot, 'eval', o.split);
  let questions = readJsonl<EvalQuestion>(path.join(o.dataRoot, FILES.questions(o.split)));
  const refs = new Map(
    readJsonl<EvalReference>(path.join(o.dataRoot, FILES.references(o.split))).map((r) => [
      r.question_id,
      r.text,
    ]),
  );
  if (o.limit !== undefined) questions = questions.slice(0, o.limit);
  const source = typeof o.model === 'string' ? folderSource(o.model) : o.model;
  const engine = await evaluationEngine(o.fault === 'no-normalize' ? withoutNormalisation(source) : source);
  const t0 = performance.now();
  const report: EvalReport = {
    overall: { correct: 0, total: 0 },
    byKind: {},
    byCategory: {},
    seconds: 0,
    answers: [],
  };
  try {
    for (const [i, q] of questions.entries()) {
      const text = await ask(
        engine,
        rawImage(readImage(dir, q.image), o.fault),
        q.text,
        o.template ?? 'model',
      );
      const ref = refs.get(q.question_id);
      if (ref === undefined) throw new Error(`no reference answer for ${q.question_id}`);
      const ok = normalizeAnswer(text) === normalizeAnswer(ref);
      report.overall.total++;
      if (ok) report.overall.correct++;
      bump(report.byKind, q.kind, ok);
      bump(report.byCategory, q.category, ok);
      report.answers.push({
        question_id: q.question_id,
        prompt: q.text,
        text,
        answer_id: `${o.modelId}-${q.question_id}`,
        model_id: o.modelId,
        metadata: { category: q.category, kind: q.kind, reference: ref, exact_match: ok },
      });
      o.onProgress?.(i + 1, questions.length, report.overall.correct);
    }
  } finally {
    await engine.unload();
  }
  report.seconds = (performance.now() - t0) / 1000;
  if (o.answersFile) {
    mkdirSync(path.dirname(o.answersFile), { recursive: true });
    writeFileSync(o.answersFile, report.answers.map((a) => JSON.stringify(a)).join('\n') + '\n');
  }
  return report;
}

export function pct(t: Tally): string {
  return t.total === 0
    ? '  n/a'
    : `${((100 * t.correct) / t.total).toFixed(1).padStart(5)} % (${t.correct}/${t.total})`;
}

/** Reads a written answers file back (for the README tables and checks). */
export function readAnswers(file: string): EvalAnswer[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as EvalAnswer);
}
