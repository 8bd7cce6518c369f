// Owns the "convert it yourself" cards: models with no browser export (LLaVA-1.5 7B/13B), the exact commands that
// convert them (with a copy button), what they cost, and the way into the folder import. It runs nothing itself.
import { createSignal, For, type JSX } from 'solid-js';
import { formatBytes } from '../lib/format';
import { useModels, type RecipeModel } from '../stores/model-store';
import { useNotices } from '../stores/notice-store';
import { Icon } from './Icon';

/** Longest line of a shown command before its ` \` continuation: fits the panel without scrolling. */
const LINE = 40;

/**
 * The commands as shown: long ones wrapped between arguments with shell line continuations, an option kept with its
 * values, so that they read in a narrow panel (and still run when selected by hand). The copy button copies them
 * exactly as written.
 */
function displayCommands(commands: readonly string[]): string {
  return commands
    .map((command) => {
      const groups: string[] = [];
      for (const token of command.match(/"[^"]*"|'[^']*'|\S+/g) ?? []) {
        const last = groups.length - 1;
        const joinsOption = last >= 0 && !token.startsWith('-') && /(^| )--?[a-z]/.test(groups[last] ?? '');
        if (joinsOption) groups[last] = `${groups[last]} ${token}`;
        else groups.push(token);
      }
      const lines: string[] = [];
      for (const group of groups) {
        const current = lines[lines.length - 1];
        if (current !== undefined && current.length + 1 + group.length <= LINE)
          lines[lines.length - 1] = `${current} ${group}`;
        else lines.push(current === undefined ? group : `    ${group}`);
      }
      return lines.join(' \\\n');
    })
    .join('\n');
}

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
        <span>Converted folder {formatBytes(props.recipe.outputBytes)}</span>
        <span>needs ~{formatBytes(props.recipe.gpuMemoryBytes)} of GPU memory (WebGPU only)</span>
      </p>
      <p class="model-desc">
        Run in a checkout of this project (Node 20, <code>npm install</code> done), then import the folder{' '}
        <code>{props.recipe.outputFolder}</code>:
      </p>
      <pre class="recipe-commands" ref={commands}>
        <code>{displayCommands(props.recipe.commands)}</code>
      </pre>
      <div class="model-actions">
        <button
          type="button"
          class="button recipe-copy"
          aria-label={`${copied() ? 'Copied commands' : 'Copy commands'} for ${props.recipe.name}`}
          onClick={copy}
        >
          <Icon name={copied() ? 'check' : 'copy'} size={16} /> {copied() ? 'Copied' : 'Copy commands'}
        </button>
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
