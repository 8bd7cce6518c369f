// `npm run fixtures:demo` (part of `npm run dev` / `npm run build`): writes the committed, trained micro LLaVA as the
// app's built-in model folder (public/models/micro-llava by default), or says it is current. Flags: --out DIR.

import path from 'node:path';
import { exportFixtureTo } from '../fixture-export';
import { checkKnown, parseArgs } from './args';

const args = parseArgs(process.argv.slice(2));
checkKnown(args, ['out']);
const out = path.resolve(args.get('out') ?? 'public/models/micro-llava');
const started = performance.now();
const { written, sha256 } = exportFixtureTo(out);
const where = path.relative(process.cwd(), out) || out;
console.log(
  written
    ? `app-model: wrote the micro LLaVA (weights sha256 ${sha256.slice(0, 12)}…) to ${where} in ${((performance.now() - started) / 1000).toFixed(2)} s`
    : `app-model: ${where} is current; skipped.`,
);
