// `npm run train:micro`: the whole LLaVA recipe in miniature (data if missing, stages 0–2, export), resumable.
// Flags: --data DIR --out DIR --seed N --scale F (step multiplier) --train-scenes N --fixture (install the result
// as test/fixtures/micro-model).

import path from 'node:path';
import { DEFAULT_DATASET } from '../data/dataset';
import { trainMicro } from '../train/run';
import { installFixture } from '../fixture';
import { checkKnown, numberArg, parseArgs } from './args';

const args = parseArgs(process.argv.slice(2));
checkKnown(args, ['data', 'out', 'seed', 'scale', 'train-scenes', 'fixture']);
const dataset = {
  ...DEFAULT_DATASET,
  trainScenes: numberArg(args, 'train-scenes', DEFAULT_DATASET.trainScenes),
};
const started = Date.now();
const stamp = () => {
  const s = Math.floor((Date.now() - started) / 1000);
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
};
const summary = await trainMicro({
  dataRoot: path.resolve(args.get('data') ?? '.cache/micro-data'),
  outDir: path.resolve(args.get('out') ?? '.cache/micro-train'),
  seed: numberArg(args, 'seed', 1),
  dataset,
  scale: numberArg(args, 'scale', 1),
  log: (line) => console.log(`${stamp()} ${line}`),
});
console.log('\ntime per stage (s):');
for (const [k, v] of Object.entries(summary.seconds)) console.log(`  ${k.padEnd(10)} ${v.toFixed(1)}`);
console.log(
  `  ${'total'.padEnd(10)} ${summary.totalSeconds.toFixed(1)}  (${(summary.totalSeconds / 60).toFixed(1)} min)`,
);
console.log(`model folder: ${summary.modelDir}`);
if (args.get('fixture') === 'true') {
  const info = await installFixture(summary.weightsBase);
  console.log(`installed test fixture: ${info.bin} (${info.bytes} bytes, sha256 ${info.sha256})`);
} else {
  console.log('run with --fixture to install these weights as test/fixtures/micro-model');
}
