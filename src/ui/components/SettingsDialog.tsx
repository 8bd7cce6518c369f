// Owns the settings dialog opened from the header: a modal <dialog> (focus kept inside, Esc closes) holding the
// settings form. Choosing a model stays in the model panel.
import { onMount, type JSX } from 'solid-js';
import { Icon } from './Icon';
import { SettingsForm } from './SettingsForm';

export function SettingsDialog(props: { onClose: () => void }): JSX.Element {
  let dialog!: HTMLDialogElement;
  onMount(() => {
    dialog.showModal();
    dialog.querySelector<HTMLElement>('#settings-title')?.focus();
  });
  return (
    <dialog
      ref={dialog}
      class="settings-dialog"
      aria-labelledby="settings-title"
      onClose={() => props.onClose()}
      onClick={(e) => {
        // A click on the backdrop (the dialog element itself, outside its content) closes it.
        if (e.target === dialog) dialog.close();
      }}
    >
      <div class="settings-dialog-body">
        <div class="panel-head">
          <h2 id="settings-title" tabindex="-1">
            Settings
          </h2>
          <button
            type="button"
            class="icon-button"
            aria-label="Close settings"
            onClick={() => dialog.close()}
          >
            <Icon name="close" />
          </button>
        </div>
        <SettingsForm />
      </div>
    </dialog>
  );
}
