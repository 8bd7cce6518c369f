// Owns the prompt starters from LLaVA's showcase; picking one puts it in the message box.
import { For, type JSX } from 'solid-js';
import { useComposer } from '../stores/composer-store';

export const STARTERS: readonly { label: string; prompt: string }[] = [
  { label: 'Describe this image in detail', prompt: 'Describe this image in detail.' },
  {
    label: 'What can I cook with these?',
    prompt: 'What can I cook with these? List a few dishes and the steps for one of them.',
  },
  {
    label: 'Turn this mock-up into a website',
    prompt:
      'Turn this mock-up into a website. Reply with one complete HTML file with inline CSS and JavaScript.',
  },
  { label: 'Read the text in this image', prompt: 'Read all the text in this image.' },
  { label: 'What is unusual about this image?', prompt: 'What is unusual about this image?' },
];

export function PromptStarters(props: { onPick?: () => void }): JSX.Element {
  const composer = useComposer();
  return (
    <ul class="starters" aria-label="Prompt starters">
      <For each={STARTERS}>
        {(s) => (
          <li>
            <button
              type="button"
              class="starter"
              onClick={() => {
                composer.setDraft(s.prompt);
                props.onPick?.();
              }}
            >
              {s.label}
            </button>
          </li>
        )}
      </For>
    </ul>
  );
}
