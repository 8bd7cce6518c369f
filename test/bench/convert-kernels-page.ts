// The conversion kernels timed inside a Chromium page (bundled by convert-kernels-chromium.ts): the same cases as in
// Node, on seeded bf16 tensors of the `large` preset's shapes (decoder layer 0 + lm_head, vision layers 0–3 + the
// projector), so that the browser's V8 is measured, not assumed. Sets `globalThis.kernelBench`.
import { float32ToBfloat16 } from '../../src/modelgen/convert/float-bits';
import { getPreset } from '../../src/modelgen/llava/presets';
import { fillNormal } from '../../src/modelgen/llava/random-weights';
import { listWeights } from '../../src/modelgen/llava/weight-spec';
import { bfloat16ToFloat32Before } from './convert-kernels-before';
import { kernelCases, runKernels, type KernelTensor } from './convert-kernels-cases';

function tensor(name: string, dims: number[], seed: number): KernelTensor {
  const count = dims.reduce((a, b) => a * b, 1);
  const bits = float32ToBfloat16(fillNormal(new Float32Array(count), seed, 0, 1 / Math.sqrt(dims[1] ?? 1)));
  const f32 = new Float32Array(count);
  bfloat16ToFloat32Before(bits, f32);
  return { name, dims, bits, f32 };
}

async function kernelBench(
  reps: number,
): Promise<{ lines: string[]; rates: Array<[string, { before: number; after: number }]> }> {
  const config = getPreset('large');
  config.text_config.num_hidden_layers = 1;
  const specs = listWeights(config).filter((s) => s.dims.length === 2 && !/embed/.test(s.name));
  const pick = (re: RegExp) =>
    specs.filter((s) => re.test(s.name)).map((s, i) => tensor(s.name, s.dims, i + 1));
  const vision = pick(/(vision.*layers\.[0-3]\.|projector)/);
  const decoder = pick(/(language_model.*layers\.0\.|lm_head)/);
  const lines: string[] = [];
  const rates = runKernels(kernelCases(vision, decoder, []), reps, (line) => lines.push(line));
  return { lines, rates: [...rates] };
}

(globalThis as unknown as { kernelBench: typeof kernelBench }).kernelBench = kernelBench;
