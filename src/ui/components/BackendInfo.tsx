// Owns showing where the model runs: WebGPU or WASM, the adapter, f16, threads, isolation, the loaded model.
import { Show, type JSX } from 'solid-js';
import { formatBytes } from '../lib/format';
import { useEngine } from '../stores/engine-store';

export function BackendInfo(): JSX.Element {
  const engine = useEngine();
  const backendName = (b: string | null | undefined) =>
    b === 'webgpu' ? 'WebGPU' : b === 'wasm' ? 'WebAssembly (CPU)' : b === 'cpu' ? 'CPU' : 'not started';
  return (
    <section class="backend" aria-labelledby="backend-title">
      <h3 id="backend-title">Engine</h3>
      <dl class="facts">
        <dt>Backend</dt>
        <dd data-testid="backend">{backendName(engine.status()?.backend)}</dd>
        <Show when={engine.status()?.backendNote}>
          {(note) => (
            <>
              <dt>Why this backend</dt>
              <dd data-testid="backend-note">{note()}</dd>
            </>
          )}
        </Show>
        <Show when={engine.status()?.adapter}>
          {(a) => (
            <>
              <dt>GPU adapter</dt>
              <dd>
                {[a().vendor, a().architecture, a().description].filter((x) => x).join(' · ') || 'unnamed'}
                {a().isFallbackAdapter ? ' (software fallback)' : ''}
              </dd>
            </>
          )}
        </Show>
        <Show when={engine.status()?.backend === 'webgpu'}>
          <dt>16-bit floats (shader-f16)</dt>
          <dd>{engine.status()?.shaderF16 ? 'yes' : 'no'}</dd>
        </Show>
        <Show when={engine.status()?.backend === 'wasm'}>
          <dt>Threads</dt>
          <dd>
            {engine.status()?.threads}
            {engine.status()?.crossOriginIsolated ? '' : ' (page not cross-origin isolated: one thread)'}
          </dd>
        </Show>
        <dt>Model</dt>
        <dd data-testid="loaded-model">
          <Show when={engine.status()?.model} fallback="none loaded">
            {(m) => (
              <>
                {m().id} · {Object.values(m().dtype).join('/')} ·{' '}
                {formatBytes(engine.status()?.memoryEstimateBytes ?? 0)}
              </>
            )}
          </Show>
        </dd>
        <Show when={engine.status()?.model}>
          {(m) => (
            <>
              <dt>Pictures</dt>
              <dd data-testid="model-limits">
                {m().maxImages === 1 ? 'one' : `up to ${m().maxImages}`} per conversation ·{' '}
                {m().contextLength.toLocaleString('en')} tokens of context
              </dd>
            </>
          )}
        </Show>
        <Show when={engine.status()?.cache}>
          {(c) => (
            <>
              <dt>Conversation cache</dt>
              <dd data-testid="kv-cache">
                {formatBytes(c().kvBytes)} of {formatBytes(c().kvBudgetBytes)} ·{' '}
                {c().conversations === 1 ? '1 chat' : `${c().conversations} chats`}
              </dd>
            </>
          )}
        </Show>
      </dl>
      <Show when={engine.status()?.model}>
        <button type="button" class="button" onClick={() => void engine.unload()}>
          Unload model
        </button>
      </Show>
    </section>
  );
}
