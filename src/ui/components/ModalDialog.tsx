// Owns the app's modal dialogs' frame: a native <dialog> shown modal (focus kept inside, Esc closes), a heading that
// takes focus, a close button, and closing on a click outside. What is inside belongs to each dialog.
import { onMount, type JSX } from 'solid-js';
import { Icon } from './Icon';

export function ModalDialog(props: {
  /** Id of the heading (labels the dialog). */
  titleId: string;
  title: string;
  class: string;
  onClose: () => void;
  children: JSX.Element;
}): JSX.Element {
  let dialog!: HTMLDialogElement;
  onMount(() => {
    dialog.showModal();
    dialog.querySelector<HTMLElement>(`#${props.titleId}`)?.focus();
  });
  return (
    <dialog
      ref={dialog}
      class={`modal-dialog ${props.class}`}
      aria-labelledby={props.titleId}
      onClose={() => props.onClose()}
      onClick={(e) => {
        // A click on the backdrop (the dialog element itself, outside its content) closes it.
        if (e.target === dialog) dialog.close();
      }}
    >
      <div class="modal-dialog-body">
        <div class="panel-head">
          <h2 id={props.titleId} tabindex="-1">
            {props.title}
          </h2>
          <button
            type="button"
            class="icon-button"
            aria-label={`Close ${props.title.toLowerCase()}`}
            onClick={() => dialog.close()}
          >
            <Icon name="close" />
          </button>
        </div>
        {props.children}
      </div>
    </dialog>
  );
}
