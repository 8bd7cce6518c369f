// Command line: converts a LLaVA safetensors checkpoint into the browser folder layout (see
// src/modelgen/convert/README.md). Node-only; the conversion lives in src/modelgen/convert.
//
//   npm run convert -- --input DIR [--clip DIR] [--tokenizer DIR] --output DIR --quant q4|q8|fp16|fp32
//                      [--vision-quant fp32|fp16|q8|q4] [--embed-quant fp32|fp16|q8] [--shard-size BYTES] [--force]

import path from 'node:path';
import { parseArgs } from 'node:util';
import { convertCheckpoint, DEFAULT_SHARD_BYTES, type ConvertOptions } from '../convert/convert';
import { isConvertError } from '../convert/errors';
import type { ConvertDtype } from '../convert/shard-plan';
import { formatBytes } from '../../shared/format-bytes';
import { parseByteSize } from '../convert/byte-size';

const USAGE = `usage: npm run convert -- --input DIR --output DIR --quant q4|q8|fp16|fp32
         [--clip DIR] [--tokenizer DIR] [--vision-quant fp32|fp16|q8|q4] [--embed-quant fp32|fp16|q8]
         [--shard-size BYTES (e.g. 800MB, default ${DEFAULT_SHARD_BYTES / 1e6}MB)] [--max-data-file BYTES] [--force]`;

function fail(message: string, code = 2): never {
  console.error(`convert: ${message}`);
  if (code === 2) console.error(USAGE);
  process.exit(code);
}

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        input: { type: 'string' },
        clip: { type: 'string' },
        tokenizer: { type: 'string' },
        output: { type: 'string' },
        quant: { type: 'string' },
        'vision-quant': { type: 'string' },
        'embed-quant': { type: 'string' },
        'shard-size': { type: 'string' },
        'max-data-file': { type: 'string' },
        force: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
      strict: true,
    }));
  } catch (error) {
    fail((error as Error).message);
  }
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (!values.input || !values.output || !values.quant) fail('--input, --output and --quant are required');
  const controller = new AbortController();
  process.once('SIGINT', () => {
    console.error('convert: interrupted; removing the partial output…');
    controller.abort();
  });
  const options: ConvertOptions = {
    input: path.resolve(values.input),
    output: path.resolve(values.output),
    quant: values.quant as ConvertDtype,
    force: values.force,
    signal: controller.signal,
    onProgress: (e) => {
      if (e.kind === 'plan') {
        console.log(
          `convert: ${e.family} config, ${e.naming} tensor names, ${formatBytes(e.checkpointBytes)} of weights; ` +
            `decoder in ${e.shards.length} shard(s): ${e.shards.map((s) => `[${s.layers[0]}, ${s.layers[1]}) ${formatBytes(s.bytes)}`).join(', ')}`,
        );
      } else if (e.kind === 'tensor') {
        // The data pass, in file order: a line per tenth of the tensors.
        if (Math.floor((10 * e.done) / e.total) > Math.floor((10 * (e.done - 1)) / e.total)) {
          const rss = formatBytes(process.memoryUsage().rss);
          console.log(`  tensor ${e.done} of ${e.total} (${e.tensor}; rss ${rss})`);
        }
      } else if (e.kind === 'file-done') {
        console.log(`  ${formatBytes(e.weightBytes).padStart(10)}  ${e.file}`);
      }
    },
  };
  if (values.clip) options.clip = path.resolve(values.clip);
  if (values.tokenizer) options.tokenizer = path.resolve(values.tokenizer);
  if (values['vision-quant']) options.visionQuant = values['vision-quant'] as ConvertDtype;
  if (values['embed-quant']) options.embedQuant = values['embed-quant'] as 'fp32' | 'fp16' | 'q8';
  try {
    if (values['shard-size']) options.shardSize = parseByteSize(values['shard-size'], '--shard-size');
    if (values['max-data-file'])
      options.maxDataFileBytes = parseByteSize(values['max-data-file'], '--max-data-file');
    const started = performance.now();
    const result = await convertCheckpoint(options);
    const total = result.files.reduce((n, f) => n + f.size, 0);
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `convert: wrote ${result.files.length} files (${formatBytes(total)}) to ${result.dir} in ${seconds.toFixed(1)} s; ` +
        `peak rss ${formatBytes(process.resourceUsage().maxRSS * 1024)}`,
    );
  } catch (error) {
    if (isConvertError(error))
      fail(`${error.message} [${error.code}]`, error.code === 'bad-argument' ? 2 : 1);
    if (controller.signal.aborted) fail('aborted; nothing was written', 130);
    throw error;
  }
}

void main();
