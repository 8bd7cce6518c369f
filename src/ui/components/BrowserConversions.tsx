// Owns the "convert in this browser" cards: LLaVA checkpoints with no browser export (TinyLLaVA, LLaVA-1.5 7B/13B),
// what converting one costs, and one progress bar for the whole job (lib/conversion-progress.ts says what it shows)
// while the conversion worker streams the checkpoint in file order, writes the weight store and checks it; Cancel
// keeps finished tensors and Resume goes on from there (also after a reload); Discard deletes them; the converted
// model is then loaded. The conversion itself runs in workers/convert.worker.ts, never on the page.
import { createSignal, For, onMount, Show, type JSX } from 'solid-js';
import type { ConvertWorkerEvent, ConvertWorkerRequest } from '../../store/hub-conversion-protocol';
import { BROWSER_CONVERSIONS, shardBytesFor, type BrowserConversion } from '../../store/browser-conversions';
import { discardConversion, hasPausedConversion, modelIdOf } from '../../store';
import { ConversionTracker, type ConversionView } from '../lib/conversion-progress';
import { formatBytes } from '../lib/format';
import { useModels } from '../stores/model-store';
import { useNotices } from '../stores/notice-store';
import { Icon } from './Icon';
import { ProgressBar } from './ProgressBar';

type Limits = { maxBufferSize: number; maxStorageBufferBindingSize: number };
interface AdapterLike {
  limits: Limits;
  features: { has(name: string): boolean };
}

/** The GPU's buffer limits and shader-f16, when WebGPU exists (typed loosely: the page has no WebGPU typings). */
async function adapterFacts(): Promise<{ limits: Limits | null; f16: boolean }> {
  const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<AdapterLike | null> } }).gpu;
  const adapter = await gpu?.requestAdapter().catch(() => null);
  return { limits: adapter?.limits ?? null, f16: adapter?.features.has('shader-f16') ?? false };
}

function ConversionCard(props: { entry: BrowserConversion }): JSX.Element {
  const models = useModels();
  const notices = useNotices();
  const [run, setRun] = createSignal<ConversionView | null>(null);
  let worker: Worker | null = null;
  const name = `converted/${props.entry.repo}-q4`;
  const storedId = modelIdOf({ kind: 'local', id: name });
  const stored = () => models.cached().some((c) => c.id === storedId);
  // An interrupted conversion (Cancel, an error, a closed tab) keeps its finished tensors: it resumes, never restarts.
  const [paused, setPaused] = createSignal(false);
  onMount(() => void hasPausedConversion(name).then(setPaused, () => undefined));

  const stop = (message: string | null) => {
    worker?.terminate();
    worker = null;
    setRun(null);
    // What an interruption kept decides what the message offers (a failed final check deletes the model; one
    // cancelled during the check leaves it stored: the list says so).
    void models.refresh();
    void hasPausedConversion(name)
      .catch(() => false)
      .then((kept) => {
        setPaused(kept);
        const next = kept
          ? ' The tensors converted so far are kept: Resume goes on from there, Discard deletes them.'
          : '';
        if (message !== null) notices.error(`${message}${next}`);
        else notices.info(`Conversion of ${props.entry.label} cancelled.${next}`);
      });
  };

  const discard = async () => {
    await discardConversion(name).catch(() => undefined);
    setPaused(false);
  };

  const start = async () => {
    // The worker plans from the checkpoint's config and headers and refuses a plan over the quota before any tensor.
    const { limits, f16 } = await adapterFacts();
    const request: ConvertWorkerRequest = {
      type: 'convert',
      options: {
        ref: { kind: 'hub', repo: props.entry.repo },
        id: name,
        label: props.entry.label,
        quant: 'q4',
        // Half-precision vision weights only where the engine will load `_fp16` files (shader-f16).
        visionQuant: f16 ? 'fp16' : 'q4',
        shardSize: shardBytesFor(limits),
      },
    };
    const tracker = new ConversionTracker();
    let converted = 0;
    setRun(tracker.view());
    worker = new Worker(new URL('../../../workers/convert.worker.ts', import.meta.url), {
      type: 'module',
      name: 'llava-convert',
    });
    worker.onmessage = (message: MessageEvent<ConvertWorkerEvent>) => {
      const e = message.data;
      if (run() === null) return;
      if (e.type === 'done') {
        // Converted and stored; read back against its manifest before it is used.
        converted = e.bytes;
        worker?.postMessage({ type: 'check', id: name } satisfies ConvertWorkerRequest);
      }
      if (e.type === 'checked') {
        worker?.terminate();
        worker = null;
        setRun(null);
        setPaused(false);
        notices.info(`Converted and checked “${props.entry.label}” (${formatBytes(converted)}).`);
        void models.refresh().then(() => models.load(storedId));
      } else if (e.type === 'error') stop(e.message);
      else {
        tracker.apply(e);
        setRun(tracker.view());
      }
    };
    worker.onerror = () => stop('The conversion stopped unexpectedly.');
    worker.postMessage(request);
  };

  const view = run;

  return (
    <li class="model-card conversion-card" aria-label={props.entry.label}>
      <div class="model-card-head">
        <h4>{props.entry.label}</h4>
        <span class="badge">Converted in your browser</span>
      </div>
      <p class="model-facts">
        <span>Reads {formatBytes(props.entry.sourceBytes.value)} from the hub</span>
        <span>Stores {formatBytes(props.entry.outputBytes)}</span>
        <span>needs ~{formatBytes(props.entry.gpuMemoryBytes)} of GPU memory</span>
      </p>
      <p class="model-desc">{props.entry.description}</p>
      <Show
        when={run()}
        fallback={
          <div class="model-actions">
            <Show
              when={stored()}
              fallback={
                <>
                  <button type="button" class="button primary" onClick={() => void start()}>
                    <Icon name="download" size={16} />{' '}
                    {paused() ? 'Resume conversion' : 'Convert in this browser'}
                  </button>
                  <Show when={paused()}>
                    <button type="button" class="button" onClick={() => void discard()}>
                      Discard
                    </button>
                    <span class="muted small conversion-paused">
                      Paused: the tensors converted so far are kept here.
                    </span>
                  </Show>
                </>
              }
            >
              <span class="muted small">On this device (listed with the models above)</span>
              <button type="button" class="button primary" onClick={() => void models.load(storedId)}>
                Load
              </button>
            </Show>
          </div>
        }
      >
        <ProgressBar
          label={`Converting ${props.entry.label}`}
          loaded={Math.round((view()?.fraction ?? 0) * 1000)}
          total={view()?.fraction === null ? 0 : 1000}
          valueText={view()?.text ?? ''}
        />
        <p
          class="muted small conversion-status"
          data-phase={view()?.phase}
          data-source-bytes={view()?.sourceBytes}
          data-download-bytes={view()?.downloadBytes}
        >
          {view()?.text}
        </p>
        <Show when={run()?.plan}>
          {(plan) => (
            <p class="muted small conversion-plan">
              Plan for this device: downloads {formatBytes(plan().downloadBytes)} ({plan().tensors} tensors),
              stores {formatBytes(plan().storageBytes)} at most, needs ~{formatBytes(plan().gpuBytes)} of GPU
              memory; decoder in {plan().shards.length} part{plan().shards.length === 1 ? '' : 's'} (
              {plan().dtypes.decoder}), vision {plan().dtypes.vision_encoder}, embeddings{' '}
              {plan().dtypes.embed_tokens}.
            </p>
          )}
        </Show>
        <div class="model-actions">
          <button type="button" class="button" onClick={() => stop(null)}>
            Cancel
          </button>
        </div>
      </Show>
    </li>
  );
}

export function BrowserConversions(): JSX.Element {
  return (
    <section class="recipes" aria-labelledby="browser-conversions-title">
      <h3 id="browser-conversions-title">Convert in this browser</h3>
      <p class="muted small">
        LLaVA checkpoints with no browser export: the app streams each file from the hub once, checks its
        sha256, quantises each tensor here as it passes and keeps the result in this browser’s storage.
        Nothing is uploaded.
      </p>
      <ul class="model-list">
        <For each={BROWSER_CONVERSIONS}>{(entry) => <ConversionCard entry={entry} />}</For>
      </ul>
    </section>
  );
}
