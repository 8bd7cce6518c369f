// The training page (train.html): "align a fresh projector in your browser". Plain DOM; all the work runs in
// workers/train.worker.ts, which this page starts and stops and whose progress it shows. It never loads ORT.
import './train.css';
import type { CaptionSample, TrainEvent, TrainRequest } from './protocol';
import { storeAlignedModel } from './use-in-chat';
import { errorMessage } from '../shared/errors';

const DEFAULT_STEPS = 60;
const EVAL_SCENES = 20;
const SAMPLES = 4;

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<HTMLElementTagNameMap[K]> & { dataset?: Record<string, string> } = {},
  ...children: Array<Node | string>
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  const { dataset, ...rest } = props;
  Object.assign(node, rest);
  if (dataset) Object.assign(node.dataset, dataset);
  node.append(...children);
  return node;
}

const params = new URLSearchParams(location.search);
const stepsParam = Number(params.get('steps'));
const batchParam = Number(params.get('batch'));

const stepsInput = el('input', {
  type: 'number',
  min: '1',
  max: '2000',
  value: String(Number.isInteger(stepsParam) && stepsParam > 0 ? stepsParam : DEFAULT_STEPS),
  id: 'steps',
});
const startButton = el('button', { className: 'primary', textContent: 'Start', id: 'start' });
const stopButton = el('button', { textContent: 'Stop', id: 'stop', disabled: true });
const progress = el('progress', { max: 1, value: 0, id: 'progress' });
const stepText = el('span', { id: 'step', textContent: 'step 0 / 0' });
const lossText = el('span', { id: 'loss', textContent: 'loss –' });
const timeText = el('span', { id: 'elapsed', textContent: '0.0 s' });
const rateText = el('span', { id: 'rate', textContent: '' });
const status = el('p', { className: 'status', id: 'status', textContent: 'Ready.' });
status.setAttribute('role', 'status');
const useButton = el('button', {
  className: 'primary',
  textContent: 'Use this model in the chat',
  id: 'use-in-chat',
  hidden: true,
});
const useStatus = el('p', { className: 'status', id: 'use-status' });
useStatus.setAttribute('role', 'status');
const before = el('section', { id: 'before' }, el('h2', { textContent: 'Before training' }));
const after = el('section', { id: 'after' }, el('h2', { textContent: 'After training' }));

document.getElementById('root')!.append(
  el(
    'main',
    {},
    // Relative, like the app's link here: works under any base path the app is served from.
    el('a', { href: './', className: 'back-to-chat', id: 'back-to-chat', textContent: '← Back to the chat' }),
    el('h1', { textContent: 'Align a fresh projector in your browser' }),
    el('p', {
      className: 'lead',
      textContent:
        "LLaVA's stage 1, at toy scale: the micro model's vision tower and language model stay frozen, its projector " +
        'starts from random weights and learns to turn picture features into words, on caption pairs drawn ' +
        'fresh every step. TensorFlow.js on WebAssembly, in a worker; nothing leaves this page.',
    }),
    el(
      'div',
      { className: 'controls' },
      el('label', { htmlFor: 'steps', textContent: 'Steps' }),
      stepsInput,
      startButton,
      stopButton,
    ),
    progress,
    el('div', { className: 'stats' }, stepText, lossText, timeText, rateText),
    status,
    el('div', { className: 'use-in-chat' }, useButton, useStatus),
    el('div', { className: 'results' }, before, after),
  ),
);

function showSamples(
  section: HTMLElement,
  title: string,
  exact: number,
  total: number,
  samples: CaptionSample[],
) {
  section.replaceChildren(
    el('h2', { textContent: title }),
    el('p', {
      className: 'exact-match',
      textContent: `Caption exact match: ${exact} / ${total} (${((100 * exact) / Math.max(1, total)).toFixed(0)} %)`,
    }),
    ...samples.map((s) => {
      const canvas = el('canvas', { width: s.width, height: s.height });
      canvas
        .getContext('2d')
        ?.putImageData(new ImageData(new Uint8ClampedArray(s.rgba), s.width, s.height), 0, 0);
      return el(
        'div',
        { className: 'sample' },
        canvas,
        el(
          'div',
          {},
          el('div', {
            className: s.exact ? 'answer exact' : 'answer',
            textContent: `“${s.answer}”${s.exact ? ' ✓' : ''}`,
          }),
          el('div', { className: 'truth', textContent: `truth: ${s.truth}` }),
        ),
      );
    }),
  );
}

let worker: Worker | null = null;
let startedAt = 0;
let timer: number | undefined;

function setRunning(on: boolean) {
  startButton.disabled = on;
  stepsInput.disabled = on;
  stopButton.disabled = !on;
  document.body.dataset.state = on ? 'running' : 'idle';
  if (on) {
    startedAt = performance.now();
    timer = window.setInterval(() => {
      timeText.textContent = `${((performance.now() - startedAt) / 1000).toFixed(1)} s`;
    }, 200);
  } else {
    window.clearInterval(timer);
    timeText.textContent = `${((performance.now() - startedAt) / 1000).toFixed(1)} s`;
  }
}

function onEvent(e: TrainEvent) {
  switch (e.type) {
    case 'status':
      status.className = 'status';
      status.textContent = e.text;
      break;
    case 'progress':
      progress.max = e.total;
      progress.value = e.step;
      stepText.textContent = `step ${e.step} / ${e.total}`;
      lossText.textContent = `loss ${e.loss.toFixed(4)}`;
      lossText.dataset.loss = String(e.loss);
      if (e.step === 1) lossText.dataset.first = String(e.loss);
      rateText.textContent = `${(e.seconds / e.step).toFixed(2)} s/step`;
      break;
    case 'eval':
      showSamples(
        e.phase === 'before' ? before : after,
        e.phase === 'before' ? 'Before training (random projector)' : 'After training',
        e.exact,
        e.total,
        e.samples,
      );
      (e.phase === 'before' ? before : after).dataset.exact = String(e.exact / Math.max(1, e.total));
      break;
    case 'done':
      setRunning(false);
      // A stopped run's projector is usable too: the name says how many steps it had.
      useButton.hidden = e.steps === 0;
      useButton.disabled = false;
      document.body.dataset.state = e.stopped ? 'stopped' : 'done';
      status.textContent = e.stopped
        ? `Stopped after ${e.steps} steps.`
        : `Done: ${e.steps} steps in ${e.trainSeconds.toFixed(1)} s (${(e.trainSeconds / Math.max(1, e.steps)).toFixed(2)} s/step).`;
      break;
    case 'model-files':
      void store(e.steps, e.files);
      break;
    case 'error':
      if (e.during === 'export') {
        showUseError(e.message);
        break;
      }
      setRunning(false);
      document.body.dataset.state = 'error';
      status.className = 'status error';
      status.textContent = `Training failed: ${e.message}`;
      break;
  }
}

function showUseError(message: string) {
  useButton.disabled = false;
  useStatus.className = 'status error';
  useStatus.textContent = `Could not store the model: ${message}`;
}

async function store(steps: number, files: Array<{ path: string; bytes: Uint8Array }>) {
  useStatus.textContent = 'Storing the model in this browser…';
  try {
    const stored = await storeAlignedModel(steps, files);
    useStatus.className = 'status';
    useStatus.dataset.label = stored.label;
    useStatus.replaceChildren(
      `Stored as “${stored.label}”. `,
      el('a', { href: './', id: 'open-chat', textContent: 'Open the chat' }),
      ' and load it from its card in the model panel.',
    );
  } catch (error) {
    showUseError(errorMessage(error));
  }
}

useButton.addEventListener('click', () => {
  useButton.disabled = true;
  useStatus.className = 'status';
  delete useStatus.dataset.label;
  useStatus.textContent = 'Building the model files…';
  worker?.postMessage({ type: 'export' } satisfies TrainRequest);
});

startButton.addEventListener('click', () => {
  worker ??= new Worker(new URL('../../workers/train.worker.ts', import.meta.url), {
    type: 'module',
    name: 'train',
  });
  worker.onmessage = (m: MessageEvent<TrainEvent>) => onEvent(m.data);
  worker.onerror = (e) => onEvent({ type: 'error', message: e.message || 'the training worker failed' });
  const steps = Math.max(1, Math.min(2000, Math.round(Number(stepsInput.value) || DEFAULT_STEPS)));
  progress.max = steps;
  progress.value = 0;
  stepText.textContent = `step 0 / ${steps}`;
  lossText.textContent = 'loss –';
  delete lossText.dataset.loss;
  delete lossText.dataset.first;
  rateText.textContent = '';
  before.replaceChildren(el('h2', { textContent: 'Before training' }));
  after.replaceChildren(el('h2', { textContent: 'After training' }));
  useButton.hidden = true;
  useStatus.replaceChildren();
  setRunning(true);
  const req: TrainRequest = {
    type: 'start',
    steps,
    seed: 1,
    evalScenes: EVAL_SCENES,
    samples: SAMPLES,
    ...(Number.isInteger(batchParam) && batchParam > 0 ? { batch: batchParam } : {}),
  };
  worker.postMessage(req);
});

stopButton.addEventListener('click', () => {
  stopButton.disabled = true;
  status.textContent = 'Stopping after this step…';
  worker?.postMessage({ type: 'stop' } satisfies TrainRequest);
});
