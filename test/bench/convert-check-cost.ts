// Benchmark (not part of npm test): what the conversion card's last phase costs. In headless Chromium the app's
// conversion worker converts a bf16 checkpoint served locally like the hub, then reads the stored model back against
// its manifest (the card's "Checking the converted files"); prints both times, the output size and the check's MB/s,
// which also says whether the card's progress weights (an output byte ≈ a quarter of a source byte) are sound.
//
//   npx tsx test/bench/convert-check-cost.ts [--preset large] [--layers 2]
import { loadavg } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { getPreset, type PresetName } from '../../src/modelgen/llava/presets';
import { createRandomWeights } from '../../src/modelgen/llava/random-weights';
import { formatBytes } from '../../src/shared/format-bytes';
import { launchBrowser } from '../e2e/harness/browser';
import { buildApp } from '../e2e/harness/build-app';
import { harnessCall, openConvertHarness } from '../e2e/harness/convert-harness';
import { folderFiles, removeTempDirs, tempDir, writeLlavaHfCheckpoint } from '../unit/convert-helpers';
import { startStoreServer } from '../unit/helpers/store-server';

const REPO = 'bench-org/llava-bf16';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { preset: { type: 'string', default: 'large' }, layers: { type: 'string', default: '2' } },
  });
  const config = getPreset(values.preset as PresetName);
  config.text_config.num_hidden_layers = Number(values.layers);
  const input = path.join(tempDir('bench-convert-check'), 'ckpt');
  writeLlavaHfCheckpoint(input, config, createRandomWeights(config, 3), 'llava-hf', {
    dtype: 'BF16',
    shards: 2,
  });
  const files = folderFiles(input);
  const sourceBytes = [...files]
    .filter(([p]) => p.endsWith('.safetensors'))
    .reduce((n, [, b]) => n + b.byteLength, 0);
  const server = await startStoreServer(files, {
    repo: REPO,
    staticDir: await buildApp(),
    isLfs: (p) => p.endsWith('.safetensors'),
  });
  const browser = await launchBrowser({ webgpu: false });
  try {
    const page = await browser.newPage();
    await openConvertHarness(page, server.origin);
    const call = harnessCall(() => page);
    const load = (): string => loadavg()[0]!.toFixed(1);
    console.log(
      `checkpoint: ${formatBytes(sourceBytes)} bf16 (${values.preset}, ${values.layers} layers); load ${load()}`,
    );
    const t = performance.now();
    const run = await call('convert', {
      ref: { kind: 'hub', repo: REPO, endpoint: server.hubEndpoint },
      id: 'converted/check',
      quant: 'q4',
    });
    const convertSeconds = (performance.now() - t) / 1000;
    if (run.error !== null) throw new Error(run.error.message);
    const outBytes = (await call('records', 'converted/check')).reduce((n, r) => n + (r.size ?? 0), 0);
    for (let i = 0; i < 2; i++) {
      const check = await call('check', 'converted/check');
      if (!check.ok) throw new Error(check.error ?? 'check failed');
      console.log(
        `conversion ${convertSeconds.toFixed(1)} s (${(sourceBytes / 1e6 / convertSeconds).toFixed(1)} MB/s of source); ` +
          `check ${check.seconds.toFixed(1)} s for ${formatBytes(outBytes)} (${(outBytes / 1e6 / check.seconds).toFixed(0)} MB/s, ` +
          `${((100 * check.seconds) / convertSeconds).toFixed(1)}% of the conversion); load ${load()}`,
      );
    }
  } finally {
    await browser.close();
    await server.close();
    removeTempDirs();
  }
}

void main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
