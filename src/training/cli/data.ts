// `npm run data:micro`: writes the micro data set (scenes as PNG, stage-1 caption pairs, stage-2 instructions in
// LLaVA-Instruct JSON, text pretraining chats, held-out eval questions). Flags: --out DIR --seed N --train-scenes N.

import path from 'node:path';
import { DEFAULT_DATASET, writeDataset } from '../data/dataset';
import { checkKnown, numberArg, parseArgs } from './args';

const args = parseArgs(process.argv.slice(2));
checkKnown(args, ['out', 'seed', 'train-scenes']);
const root = path.resolve(args.get('out') ?? '.cache/micro-data');
const options = {
  ...DEFAULT_DATASET,
  seed: numberArg(args, 'seed', DEFAULT_DATASET.seed),
  trainScenes: numberArg(args, 'train-scenes', DEFAULT_DATASET.trainScenes),
};
const t0 = performance.now();
const written = writeDataset(root, options, (done, total) => {
  if (done % 2000 === 0) console.log(`  ${done}/${total} training scenes`);
});
console.log(`wrote ${root} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
for (const [k, v] of Object.entries(written.counts)) console.log(`  ${k.padEnd(14)} ${v}`);
