import { it } from 'vitest';
import { getTinyModel } from '../fixtures/tiny-model';
import { loadedEngine } from './engine-helpers';
it('probe', async () => {
  const e = await loadedEngine(getTinyModel('tiny').dir);
  const out: string[] = [];
  for (const n of [1, 2, 3, 10, 100]) {
    const r = await e.chat({ messages: [{ role: 'user', content: 'picture '.repeat(n).trim() }], sampling: { maxNewTokens: 1, temperature: 0 } });
    out.push(`${n}:${r.usage.promptTokens}`);
  }
  console.log('PROBE', out.join(' '));
}, 120000);
