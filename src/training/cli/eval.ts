// `npm run eval:micro`: exact-match accuracy of a micro model folder on held-out scenes, through our engine, plus
// the answers file in LLaVA's format. Flags: --model DIR (default: the committed fixture, exported) --data DIR
// --split test|dev --fresh SEED (draw a brand-new split of 400 scenes from SEED instead) --template
// model|vicuna_v1|llava_v1 --limit N --answers FILE --fault none|bgr|no-normalize.

import path from 'node:path';
import { existsSync } from 'node:fs';
import { DEFAULT_DATASET, datasetMatches, writeDataset, writeEvalSplit } from '../data/dataset';
import { evaluate, pct, type ImageFault } from '../eval/evaluate';
import { exportFixture } from '../fixture-export';
import type { TemplateName } from '../../shared/protocol';
import { checkKnown, numberArg, parseArgs } from './args';

const args = parseArgs(process.argv.slice(2));
checkKnown(args, ['model', 'data', 'split', 'fresh', 'template', 'limit', 'answers', 'fault']);
const dataRoot = path.resolve(args.get('data') ?? '.cache/micro-data');
if (!datasetMatches(dataRoot, DEFAULT_DATASET) && !existsSync(path.join(dataRoot, 'eval'))) {
  console.log(`generating the data set (eval splits included) into ${dataRoot}`);
  writeDataset(dataRoot, DEFAULT_DATASET);
}
let split = args.get('split') ?? 'test';
if (args.has('fresh')) {
  const seed = numberArg(args, 'fresh', 0);
  split = `fresh-${seed}`;
  const n = writeEvalSplit(dataRoot, seed, split, 400, DEFAULT_DATASET.questionsPerEvalScene);
  console.log(`drew a fresh held-out split "${split}": ${n} questions about 400 new scenes`);
}
const model = args.get('model') ? path.resolve(args.get('model')!) : exportFixture();
const modelId = path.basename(model);
const answersFile = path.resolve(args.get('answers') ?? `.cache/micro-eval/answers-${split}.jsonl`);
let last = 0;
const report = await evaluate({
  dataRoot,
  split,
  model,
  modelId,
  template: (args.get('template') ?? 'model') as TemplateName,
  ...(args.has('limit') ? { limit: numberArg(args, 'limit', 0) } : {}),
  fault: (args.get('fault') ?? 'none') as ImageFault,
  answersFile,
  onProgress: (done, total, correct) => {
    if (done - last >= 100 || done === total) {
      last = done;
      console.log(`  ${done}/${total} answered, ${((100 * correct) / done).toFixed(1)} % exact so far`);
    }
  },
});
console.log(
  `\n${split} split, ${report.overall.total} questions, ${report.seconds.toFixed(1)} s through the engine`,
);
console.log(`overall        ${pct(report.overall)}`);
for (const [k, t] of Object.entries(report.byKind)) console.log(`kind ${k.padEnd(13)} ${pct(t)}`);
for (const [k, t] of Object.entries(report.byCategory)) console.log(`  ${k.padEnd(13)} ${pct(t)}`);
console.log(`answers: ${answersFile}`);
