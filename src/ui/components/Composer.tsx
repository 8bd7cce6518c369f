// Owns the message box: text, attach/paste/drop pictures, Enter to send, Shift+Enter for a new line, Esc to stop.
import { Show, type JSX } from 'solid-js';
import { errorMessage } from '../../shared/errors';
import { useChat } from '../stores/chat-store';
import { useComposer } from '../stores/composer-store';
import { useNotices } from '../stores/notice-store';
import { AttachmentList } from './AttachmentList';
import { Icon } from './Icon';

export function Composer(props: { ref?: (el: HTMLTextAreaElement) => void }): JSX.Element {
  const composer = useComposer();
  const chat = useChat();
  const notices = useNotices();
  let picker!: HTMLInputElement;

  /** Set when the pictures waiting here are more than the loaded model can read in this conversation. */
  const pictureProblem = () => chat.pictureProblem(composer.attachments().length);

  const canSend = () =>
    chat.generating() === null &&
    composer.pending() === 0 &&
    pictureProblem() === null &&
    (composer.draft().trim() !== '' || composer.attachments().length > 0);

  const send = () => {
    if (!canSend()) return;
    const { text, images } = composer.take();
    chat.send(text.trim() || 'Describe this image.', images).catch((error: unknown) => {
      composer.restore(text, images);
      notices.error(errorMessage(error));
    });
  };

  return (
    <form
      class="composer"
      aria-label="Write a message"
      onSubmit={(e) => {
        e.preventDefault();
        send();
      }}
    >
      <AttachmentList />
      <Show when={pictureProblem()}>
        {(problem) => (
          <p class="composer-warning" role="alert" id="composer-warning">
            {problem()}
          </p>
        )}
      </Show>
      <div class="composer-row">
        <input
          ref={picker}
          type="file"
          accept="image/*"
          multiple
          class="visually-hidden"
          tabindex="-1"
          aria-hidden="true"
          onChange={(e) => {
            const files = e.currentTarget.files;
            if (files) void composer.addFiles([...files]);
            e.currentTarget.value = '';
          }}
        />
        <button
          type="button"
          class="icon-button"
          aria-label="Attach pictures"
          title="Attach pictures"
          onClick={() => picker.click()}
        >
          <Icon name="image" />
        </button>
        <label class="visually-hidden" for="composer-input">
          Message
        </label>
        <textarea
          id="composer-input"
          ref={(el) => props.ref?.(el)}
          rows="1"
          placeholder="Ask about a picture…"
          aria-describedby={pictureProblem() ? 'composer-warning composer-hint' : 'composer-hint'}
          value={composer.draft()}
          onInput={(e) => {
            composer.setDraft(e.currentTarget.value);
            e.currentTarget.style.height = 'auto';
            e.currentTarget.style.height = `${Math.min(e.currentTarget.scrollHeight, 240)}px`;
          }}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
              e.preventDefault();
              send();
            }
          }}
        />
        <Show
          when={chat.generating() === null}
          fallback={
            <button
              type="button"
              class="icon-button stop"
              aria-label="Stop answering (Esc)"
              title="Stop (Esc)"
              onClick={() => chat.stop()}
            >
              <Icon name="stop" />
            </button>
          }
        >
          <button
            type="submit"
            class="icon-button send"
            aria-label="Send (Enter)"
            title="Send (Enter)"
            disabled={!canSend()}
          >
            <Icon name="send" />
          </button>
        </Show>
      </div>
      <p id="composer-hint" class="composer-hint">
        <span class="composer-hint-extra">Drop, paste or attach pictures · </span>
        Enter sends · Shift+Enter new line · Esc stops · ? shortcuts
        <span class="composer-hint-extra"> · Everything runs on this device.</span>
      </p>
    </form>
  );
}
