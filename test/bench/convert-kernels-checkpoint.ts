// Writes (once; a stamp file marks it complete) the bf16 checkpoints the conversion benchmarks measure on: the
// `large` preset (optionally with fewer decoder layers, same widths), two safetensors files + index + the side files
// `npm run convert` needs, written tensor by tensor so the generator never holds the whole model.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { writeSafetensors } from '../../src/modelgen/convert/safetensors-writer';
import {
  jsonBytes,
  preprocessorConfigJson,
  processorConfigJson,
  tokenizerConfigJson,
} from '../../src/modelgen/llava/config-files';
import { getPreset } from '../../src/modelgen/llava/presets';
import { fillNormal } from '../../src/modelgen/llava/random-weights';
import { buildTokenizer } from '../../src/modelgen/llava/tokenizer-builder';
import { listWeights, type WeightSpec } from '../../src/modelgen/llava/weight-spec';

/** Normal weights scaled like a trained model's (norms near 1, Linears 1/√fan-in), seeded by the tensor's name. */
function values(spec: WeightSpec): Float32Array {
  const count = spec.dims.reduce((a, b) => a * b, 1);
  const fanIn = spec.dims.slice(1).reduce((a, b) => a * b, 1);
  let seed = 0;
  for (const ch of spec.name) seed = (Math.imul(seed, 31) + ch.charCodeAt(0)) >>> 0;
  if (spec.role === 'norm-weight') return fillNormal(new Float32Array(count), seed, 1, 0.1);
  if (spec.role === 'bias' || spec.role === 'norm-bias')
    return fillNormal(new Float32Array(count), seed, 0, 0.05);
  if (spec.role === 'embedding' || spec.role === 'class')
    return fillNormal(new Float32Array(count), seed, 0, 1);
  return fillNormal(new Float32Array(count), seed, 0, 1 / Math.sqrt(fanIn));
}

export function writeBenchCheckpoint(
  dir: string,
  layers?: number,
): { dir: string; params: number; bytes: number; seconds: number } {
  const config = getPreset('large');
  if (layers !== undefined) config.text_config.num_hidden_layers = layers;
  const specs = listWeights(config);
  const params = specs.reduce((n, s) => n + s.dims.reduce((a, b) => a * b, 1), 0);
  const stamp = path.join(dir, '.complete');
  if (existsSync(stamp)) return { dir, params, bytes: Number(readFileSync(stamp, 'utf8')), seconds: 0 };
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const started = performance.now();
  const half = Math.ceil(specs.length / 2);
  const weightMap: Record<string, string> = {};
  let bytes = 0;
  [specs.slice(0, half), specs.slice(half)].forEach((part, i) => {
    const name = `model-0000${i + 1}-of-00002.safetensors`;
    bytes += writeSafetensors(path.join(dir, name), part, (s) => values(s as WeightSpec), {
      dtype: 'BF16',
      metadata: { format: 'pt' },
    });
    for (const s of part) weightMap[s.name] = name;
  });
  writeFileSync(
    path.join(dir, 'model.safetensors.index.json'),
    jsonBytes({ metadata: { total_size: bytes }, weight_map: weightMap }),
  );
  writeFileSync(path.join(dir, 'config.json'), jsonBytes({ ...config, torch_dtype: 'bfloat16' }));
  const tok = buildTokenizer(config);
  writeFileSync(path.join(dir, 'tokenizer.json'), jsonBytes(tok.json));
  writeFileSync(path.join(dir, 'tokenizer_config.json'), jsonBytes(tokenizerConfigJson(config, tok)));
  writeFileSync(path.join(dir, 'preprocessor_config.json'), jsonBytes(preprocessorConfigJson(config)));
  writeFileSync(path.join(dir, 'processor_config.json'), jsonBytes(processorConfigJson(config)));
  writeFileSync(stamp, String(bytes));
  return { dir, params, bytes, seconds: (performance.now() - started) / 1000 };
}
