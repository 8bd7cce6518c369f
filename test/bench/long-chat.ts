// Long-chat benchmark (not a test): 200 turns on the tiny generated model through the real Node engine, the chat kept
// going the way the app keeps it (a picture in the first question, every answer sent back with its ids, the oldest
// turns left out once the 512-token window is full). Two engines answer each turn back to back, one tokenising every
// prompt whole (`incrementalPrompt: false`, the way the engine worked before) and one with the per-conversation piece
// cache, so machine load hits both alike. Prints first-token time per turn and the ratio turn 200 / turn 20.
// Run: npm run bench:long-chat [-- --turns 200 --new-tokens 8 --window 5 --only now|before]
import { getTinyModel } from '../fixtures/tiny-model';
import { nodeEngine } from '../../src/node/node-engine';
import type { ChatMessage, ChatRequest, EngineApi } from '../../src/shared/protocol';

function arg(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  const value = at >= 0 ? Number(process.argv[at + 1]) : NaN;
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

const TURNS = arg('turns', 200);
const NEW_TOKENS = arg('new-tokens', 8);
/** Each reported figure is the median of this many turns ending at the reported one (one turn is a noisy sample). */
const WINDOW = arg('window', 5);
const REPORTED = [1, 20, 50, 100, 150, 200].filter((t) => t <= TURNS);

const WORDS = [
  'red',
  'circle',
  'left',
  'corner',
  'blue',
  'square',
  'how',
  'many',
  'shapes',
  'bright',
  'green',
];

/** The k-th question: different words each turn, so that every turn adds text of its own. */
function question(k: number): string {
  const pick = (i: number) => WORDS[(k * 7 + i * 3) % WORDS.length] as string;
  return `Question ${k}: is the ${pick(0)} ${pick(1)} near the ${pick(2)} ${pick(3)}?`;
}

function picture(w: number, h: number): ChatMessage {
  const data = new Uint8ClampedArray(w * h * 4).map((_, i) => (i * i * 7 + i * 37 + 11) % 256);
  return {
    role: 'user',
    content: [
      { type: 'image', image: { width: w, height: h, data } },
      { type: 'text', text: question(1) },
    ],
  };
}

interface Side {
  name: string;
  engine: EngineApi;
  messages: ChatMessage[];
  ttft: number[];
  wall: number[];
  /** CPU time of this process during the call (all threads): less swayed by other jobs than wall time. */
  cpu: number[];
  prompt: number[];
  reused: number[];
  answers: string[];
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0
    ? NaN
    : s.length % 2
      ? (s[s.length >> 1] as number)
      : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};

/** Median of the `WINDOW` turns ending at turn `t` (1-based). */
const at = (xs: number[], t: number) => median(xs.slice(Math.max(0, t - WINDOW), t));

async function turn(side: Side, k: number): Promise<void> {
  const request: ChatRequest = {
    messages: side.messages,
    conversationId: 'long-chat',
    sampling: { temperature: 0, maxNewTokens: NEW_TOKENS },
    contextOverflow: 'drop-oldest-turns',
  };
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const r = await side.engine.chat(request);
  const c = process.cpuUsage(c0);
  side.wall.push(performance.now() - t0);
  side.cpu.push((c.user + c.system) / 1000);
  side.ttft.push(r.usage.timeToFirstTokenMs);
  side.prompt.push(r.usage.promptTokens);
  side.reused.push(r.usage.reusedPromptTokens ?? 0);
  side.answers.push(r.message.content);
  // As the app does: the answer goes back with its ids, then the next question.
  side.messages.push(r.message, { role: 'user', content: question(k + 1) });
}

async function main(): Promise<void> {
  const dir = getTinyModel('tiny').dir;
  const first = picture(36, 28);
  const sides: Side[] = [];
  const only = process.argv[process.argv.indexOf('--only') + 1];
  for (const [name, incrementalPrompt] of [
    ['whole prompt tokenised (before)', false],
    ['piece cache (now)', true],
  ] as const) {
    // One side alone (for a profile).
    if (process.argv.includes('--only') && only !== (incrementalPrompt ? 'now' : 'before')) continue;
    const engine = await nodeEngine(dir, { incrementalPrompt });
    sides.push({
      name,
      engine,
      messages: [first],
      ttft: [],
      wall: [],
      cpu: [],
      prompt: [],
      reused: [],
      answers: [],
    });
  }
  const started = performance.now();
  for (let k = 1; k <= TURNS; k++) {
    // Alternate which side goes first, so neither always runs right after the other's work.
    const order = k % 2 ? sides : [...sides].reverse();
    for (const side of order) await turn(side, k);
  }
  const seconds = (performance.now() - started) / 1000;
  const before = sides[0] as Side;
  const after = sides[sides.length - 1] as Side;
  const differing = before.answers.filter((a, i) => a !== after.answers[i]).length;
  const promptDiff = before.prompt.filter((p, i) => p !== after.prompt[i]).length;

  const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '–');
  console.log(
    `Long chat: ${TURNS} turns, tiny model (512-token window, oldest turns left out), ${NEW_TOKENS} new tokens ` +
      `per answer, greedy; Node onnxruntime-node CPU fp32. Figures: median of the ${WINDOW} turns ending at each.`,
  );
  console.log(`Run took ${seconds.toFixed(0)} s; load average ${(await loadAverage()).join(' / ')}.`);
  console.log('');
  console.log(`| engine | ${REPORTED.map((t) => `turn ${t}`).join(' | ')} | turn ${TURNS} / turn 20 |`);
  console.log(`| --- | ${REPORTED.map(() => '---').join(' | ')} | --- |`);
  for (const side of sides) {
    const row = REPORTED.map((t) => fmt(at(side.ttft, t)));
    const ratio = at(side.ttft, TURNS) / at(side.ttft, 20);
    console.log(`| ${side.name}: first token ms | ${row.join(' | ')} | ${ratio.toFixed(2)} |`);
  }
  for (const side of sides) {
    const row = REPORTED.map((t) => fmt(at(side.wall, t)));
    const ratio = at(side.wall, TURNS) / at(side.wall, 20);
    console.log(`| ${side.name}: whole call ms | ${row.join(' | ')} | ${ratio.toFixed(2)} |`);
  }
  for (const side of sides) {
    const row = REPORTED.map((t) => fmt(at(side.cpu, t)));
    const ratio = at(side.cpu, TURNS) / at(side.cpu, 20);
    console.log(`| ${side.name}: CPU ms per call | ${row.join(' | ')} | ${ratio.toFixed(2)} |`);
  }
  console.log(
    `| prompt tokens (reused) | ${REPORTED.map((t) => `${after.prompt[t - 1]} (${after.reused[t - 1]})`).join(' | ')} | |`,
  );
  console.log('');
  const ratio = at(before.ttft, TURNS) / at(after.ttft, TURNS);
  console.log(`First token at turn ${TURNS}: ${ratio.toFixed(1)}× faster with the piece cache.`);
  console.log(
    `Same answers on both engines: ${differing === 0 ? 'yes' : `NO, ${differing} differ`}; ` +
      `same prompt lengths: ${promptDiff === 0 ? 'yes' : `NO, ${promptDiff} differ`}.`,
  );
  for (const side of sides) await side.engine.unload();
  if (differing > 0 || promptDiff > 0) process.exitCode = 1;
}

async function loadAverage(): Promise<string[]> {
  const os = await import('node:os');
  return os.loadavg().map((x) => x.toFixed(1));
}

await main();
