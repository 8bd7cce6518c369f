// Owns the "convert it yourself" cards: models with no browser export (LLaVA-1.5 7B/13B), the exact commands that
// convert them (with a copy button), what they cost, and the way into the folder import. It runs nothing itself.
import { createSignal, For, type JSX } from 'solid-js';
import { formatBytes } from '../lib/format';
import { useModels, type RecipeModel } from '../stores/model-store';
import { useNotices } from '../stores/notice-store';
import { Icon } from './Icon';

function RecipeCard(props: { recipe: RecipeModel; onImport: () => void }): JSX.Element {
  const notices = useNotices();
  const [copied, setCopied] = createSignal(false);
  let commands!: HTMLPreElement;
  const text = () => props.recipe.commands.join('\n');

  const copy = () => {
    navigator.clipboard.writeText(text()).then(
      () => {
        setCopied(true);
        setTimeout(() => setCopied(false), 1500);
      },
      () => {
        // No clipboard access (permissions, insecure page): select the commands so that Ctrl+C copies them.
        const range = document.createRange();
        range.selectNodeContents(commands);
        getSelection()?.removeAllRanges();
        getSelection()?.addRange(range);
        notices.warn('The browser did not allow copying: the commands are selected, press Ctrl+C (⌘C).');
      },
    );
  };

  return (
    <li class="model-card recipe-card" aria-label={props.recipe.name}>
      <div class="model-card-head">
        <h4>{props.recipe.name}</h4>
        <span class="badge">No browser download</span>
      </div>
      <p class="model-facts">
        <span>Checkpoint {formatBytes(props.recipe.downloadBytes)} to download</span>
        <span>converted folder {formatBytes(props.recipe.outputBytes)}</span>
        <span>needs ~{formatBytes(props.recipe.gpuMemoryBytes)} of GPU memory (WebGPU only)</span>
      </p>
      <p class="model-desc">
        Run in a checkout of this project (Node 20, <code>npm install</code> done), then import the folder{' '}
        <code>{props.recipe.outputFolder}</code>:
      </p>
      <div class="recipe-commands">
        <pre ref={commands}>
          <code>{text()}</code>
        </pre>
        <button
          type="button"
          class="icon-button recipe-copy"
          aria-label={`Copy the commands for ${props.recipe.name}`}
          title={copied() ? 'Copied' : 'Copy the commands'}
          onClick={copy}
        >
          <Icon name={copied() ? 'check' : 'copy'} size={16} />
        </button>
      </div>
      <div class="model-actions">
        <button type="button" class="button" onClick={() => props.onImport()}>
          <Icon name="folder" size={16} /> Import the converted folder…
        </button>
      </div>
    </li>
  );
}

export function ConvertRecipes(props: { onImport: () => void }): JSX.Element {
  const models = useModels();
  return (
    <section class="recipes" aria-labelledby="recipes-title">
      <h3 id="recipes-title">Convert it yourself</h3>
      <p class="muted small">
        The original LLaVA-1.5 models have no ready-made browser export. Convert one on your computer with
        this project, then import the folder it writes. Nothing is uploaded anywhere.
      </p>
      <ul class="model-list">
        <For each={models.recipes()}>{(r) => <RecipeCard recipe={r} onImport={props.onImport} />}</For>
      </ul>
    </section>
  );
}
