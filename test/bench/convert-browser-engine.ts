// Check in real Chromium (not part of npm test; a candidate for test/e2e): a tiny checkpoint converted into 3 decoder
// shards is downloaded by the app's worker through its manifest.json (weight store), loaded by the engine as one
// ShardedSession (hidden states and KV as GPU buffers on WebGPU) and chats, on WebGPU and WASM, exactly like the Node
// engine over the same folder and like the unsharded conversion. Prints one line per check; exits 1 on a mismatch.
//
//   npx tsx test/bench/convert-browser-engine.ts
import path from 'node:path';
import { convertCheckpoint } from '../../src/modelgen/convert/convert';
import { decoderLayerBytes } from '../../src/modelgen/convert/shard-plan';
import { getPreset } from '../../src/modelgen/llava/presets';
import { createRandomWeights } from '../../src/modelgen/llava/random-weights';
import type { ChatRequest } from '../../src/shared/protocol';
import { openEnginePage } from '../e2e/harness/engine-page';
import { createNodeEngine } from '../../src/node/node-engine';
import type { TestChatRequest } from '../e2e/pages/engine-page';
import { removeTempDirs, tempDir, writeLlavaHfCheckpoint } from '../unit/convert-helpers';

const width = 40;
const height = 32;
const rgba = Array.from({ length: width * height * 4 }, (_, i) => (i % 4 === 3 ? 255 : (i * 37) % 251));
const request: TestChatRequest = {
  sampling: { maxNewTokens: 10 },
  messages: [
    {
      role: 'user',
      content: [
        { type: 'image', image: { as: 'raw', width, height, rgba } },
        { type: 'text', text: 'What is in this picture?' },
      ],
    },
  ],
};
const nodeRequest: ChatRequest = {
  sampling: { maxNewTokens: 10 },
  messages: [
    {
      role: 'user',
      content: [
        { type: 'image', image: { width, height, data: Uint8ClampedArray.from(rgba) } },
        { type: 'text', text: 'What is in this picture?' },
      ],
    },
  ],
};

async function main(): Promise<void> {
  const config = getPreset('tiny');
  config.text_config.num_hidden_layers = 4;
  const root = tempDir('browser-engine');
  const input = path.join(root, 'ckpt');
  writeLlavaHfCheckpoint(input, config, createRandomWeights(config, 8), 'llava-hf');
  const dirs: Record<string, string> = {};
  for (const [name, quant, shardSize] of [
    ['fp32-1', 'fp32', 1e9],
    ['fp32-3', 'fp32', 90_000 + 2 * decoderLayerBytes(config, 'fp32')],
    ['q4-3', 'q4', 90_000 + 2 * decoderLayerBytes(config, 'q4')],
  ] as const) {
    const r = await convertCheckpoint({
      input,
      output: path.join(root, name),
      quant,
      shardSize: Math.floor(shardSize),
    });
    console.log(`${name}: ${r.shards.length} decoder file(s)`);
    dirs[name] = r.dir;
  }
  const expected: Record<string, string> = {};
  for (const [name, dir] of Object.entries(dirs)) {
    const node = createNodeEngine(dir);
    await node.load({ kind: 'local', id: name });
    expected[name] = (await node.chat(nodeRequest)).message.content as string;
  }
  let failures = 0;
  const check = (label: string, ok: boolean, detail: string): void => {
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${label}${ok ? '' : `: ${detail}`}`);
    if (!ok) failures++;
  };
  check(
    'node: 3 fp32 shards answer like 1 file',
    expected['fp32-3'] === expected['fp32-1'],
    `${expected['fp32-3']} vs ${expected['fp32-1']}`,
  );
  const env = await openEnginePage({
    mounts: Object.entries(dirs).map(([name, dir]) => ({ prefix: `/models/${name}/`, dir })),
  });
  try {
    for (const device of ['webgpu', 'wasm'] as const) {
      for (const name of ['fp32-3', 'q4-3']) {
        const load = await env.call('load', { kind: 'url', baseUrl: `/models/${name}/` }, { device });
        if (!load.outcome.ok) {
          check(
            `${device} ${name}: load`,
            false,
            `${load.outcome.error.code}: ${load.outcome.error.message}`,
          );
          continue;
        }
        const run = await env.call('chat', request);
        const text = run.outcome.ok
          ? (run.outcome.value.message.content as string)
          : `${run.outcome.error.code}: ${run.outcome.error.message}`;
        check(
          `${device} ${name}: same answer as the Node engine`,
          text === expected[name],
          `"${text}" vs "${expected[name]}"`,
        );
      }
    }
  } finally {
    await env.close();
    removeTempDirs();
  }
  if (failures > 0) {
    console.log(env.browser.logs.slice(-20).join('\n'));
    process.exit(1);
  }
}

void main();
