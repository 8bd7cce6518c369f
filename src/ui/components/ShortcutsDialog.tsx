// Owns the keyboard shortcuts sheet (opened with "?"): what each key does, in one list. It lists only keys the app
// handles (App.tsx, Composer, the message editor); keep them in step.
import { For, type JSX } from 'solid-js';
import { ModalDialog } from './ModalDialog';

const mod = /Mac|iPhone|iPad/.test(globalThis.navigator?.platform ?? '') ? '⌘' : 'Ctrl';

const SHORTCUTS: readonly (readonly [string, string])[] = [
  ['Enter', 'Send the message'],
  ['Shift + Enter', 'New line in the message'],
  ['Esc', 'Stop the answer, or close a panel or dialog'],
  [`${mod} + V`, 'Paste a picture'],
  ['/', 'Go to the message box'],
  [`${mod} + K`, 'Search chats'],
  [`${mod} + Shift + O`, 'New chat'],
  [`${mod} + Shift + S`, 'Open the settings'],
  ['?', 'Show these shortcuts'],
];

export function ShortcutsDialog(props: { onClose: () => void }): JSX.Element {
  return (
    <ModalDialog
      titleId="shortcuts-title"
      title="Keyboard shortcuts"
      class="shortcuts-dialog"
      onClose={props.onClose}
    >
      <dl class="shortcuts">
        <For each={SHORTCUTS}>
          {([keys, what]) => (
            <>
              <dt>
                <kbd>{keys}</kbd>
              </dt>
              <dd>{what}</dd>
            </>
          )}
        </For>
      </dl>
    </ModalDialog>
  );
}
