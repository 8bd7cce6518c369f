// Owns one message the user sent: its pictures and text, editing it to ask again, and its other versions.
import { createSignal, Show, type JSX } from 'solid-js';
import type { StoredMessage } from '../../store/conversations';
import { useChat } from '../stores/chat-store';
import { Icon } from './Icon';
import { MessageImages } from './MessageImages';
import { VersionSwitch } from './VersionSwitch';

export function UserMessage(props: { message: StoredMessage }): JSX.Element {
  const chat = useChat();
  const [editing, setEditing] = createSignal(false);
  let field!: HTMLTextAreaElement;
  let editButton!: HTMLButtonElement;

  const startEdit = () => {
    setEditing(true);
    field.value = props.message.text;
    field.focus();
  };
  const cancel = () => {
    setEditing(false);
    editButton.focus();
  };
  const submit = () => {
    const text = field.value.trim();
    if (text === '') return;
    setEditing(false);
    void chat.editAndResend(props.message.id, text);
  };

  return (
    <article class="message message-user" aria-label="Your message">
      <MessageImages ids={props.message.imageIds} />
      <Show when={!editing()}>
        <p class="message-text">{props.message.text}</p>
      </Show>
      <form
        class="edit-form"
        hidden={!editing()}
        onSubmit={(e) => {
          e.preventDefault();
          submit();
        }}
      >
        <label class="visually-hidden" for={`edit-${props.message.id}`}>
          Edit your message
        </label>
        <textarea
          id={`edit-${props.message.id}`}
          ref={field}
          rows="3"
          onKeyDown={(e) => {
            if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
              e.preventDefault();
              submit();
            } else if (e.key === 'Escape') {
              e.stopPropagation();
              cancel();
            }
          }}
        />
        <div class="edit-actions">
          <button type="submit" class="button primary">
            Send again
          </button>
          <button type="button" class="button" onClick={cancel}>
            Cancel
          </button>
        </div>
      </form>
      <Show when={!editing()}>
        <div class="message-actions">
          <VersionSwitch messageId={props.message.id} what="question" />
          <button
            ref={editButton}
            type="button"
            class="icon-button"
            aria-label="Edit this message and ask again"
            title="Edit and resend"
            disabled={chat.generating() !== null}
            onClick={startEdit}
          >
            <Icon name="edit" size={16} />
          </button>
        </div>
      </Show>
    </article>
  );
}
