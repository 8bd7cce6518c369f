// Command line: writes a generated LLaVA model folder (transformers.js layout) from a preset and a seed, or says the
// folder is already current. Node-only; the folder logic lives in model-folder.ts.
//
//   tsx src/modelgen/cli/generate.ts --preset tiny --out DIR [--seed N] [--dtypes fp32,q8,q4]
//                                    [--external-data auto|always|never] [--force]

import { rmSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { formatBytes } from '../../shared/format-bytes';
import {
  folderIsCurrent,
  normalizeDtypes,
  readManifest,
  writeModelFolder,
  type ExternalDataMode,
  type ModelFolderOptions,
} from '../llava/model-folder';
import { PRESET_NAMES, type PresetName } from '../llava/presets';

const USAGE = `usage: generate --preset <${PRESET_NAMES.join('|')}> --out DIR [--seed N] [--dtypes fp32,q8,q4]
                [--external-data auto|always|never] [--force]`;

function fail(message: string): never {
  console.error(`generate: ${message}\n${USAGE}`);
  process.exit(2);
}

function main(): void {
  const { values } = parseArgs({
    options: {
      preset: { type: 'string', default: 'tiny' },
      out: { type: 'string' },
      seed: { type: 'string', default: '0' },
      dtypes: { type: 'string', default: 'fp32,q8,q4' },
      'external-data': { type: 'string', default: 'auto' },
      force: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const preset = values.preset as PresetName;
  if (!PRESET_NAMES.includes(preset)) fail(`unknown preset "${values.preset}"`);
  if (!values.out) fail('--out is required');
  const seed = Number(values.seed);
  if (!Number.isSafeInteger(seed) || seed < 0)
    fail(`--seed must be a non-negative integer, got "${values.seed}"`);
  const externalData = values['external-data'] as ExternalDataMode;
  if (!['auto', 'always', 'never'].includes(externalData)) fail(`bad --external-data "${externalData}"`);
  let dtypes;
  try {
    dtypes = normalizeDtypes(
      values.dtypes
        .split(',')
        .map((d) => d.trim())
        .filter(Boolean),
    );
  } catch (error) {
    fail((error as Error).message);
  }
  const outDir = path.resolve(values.out);
  const options: ModelFolderOptions = { preset, seed, dtypes, externalData };

  if (!values.force && folderIsCurrent(outDir, options)) {
    console.log(
      `generate: ${path.relative(process.cwd(), outDir) || outDir} is current (${preset}, seed ${seed}, ${dtypes.join('+')}); skipped.`,
    );
    return;
  }
  // Files an earlier run listed but this one will not write (e.g. a dropped dtype) would be stale: remove them.
  const previous = readManifest(outDir);
  for (const f of previous?.files ?? []) rmSync(path.join(outDir, f.path), { force: true });

  const started = performance.now();
  const result = writeModelFolder(outDir, options);
  const ms = performance.now() - started;
  let total = 0;
  for (const f of result.manifest.files) {
    total += f.size;
    console.log(`  ${formatBytes(f.size).padStart(10)}  ${f.path}`);
  }
  console.log(
    `generate: wrote ${result.manifest.files.length} files, ${formatBytes(total)}, to ${outDir} in ${(ms / 1000).toFixed(2)} s ` +
      `(${preset}, seed ${seed}, ${dtypes.join('+')})`,
  );
}

main();
