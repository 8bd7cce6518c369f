// Owns the settings dialog opened from the header: the settings form in a modal dialog. Choosing a model stays in
// the model panel.
import type { JSX } from 'solid-js';
import { ModalDialog } from './ModalDialog';
import { SettingsForm } from './SettingsForm';

export function SettingsDialog(props: { onClose: () => void }): JSX.Element {
  return (
    <ModalDialog titleId="settings-title" title="Settings" class="settings-dialog" onClose={props.onClose}>
      <SettingsForm />
    </ModalDialog>
  );
}
