// Owns telling the user that a new version of the app is ready, and applying it when they say so (the message being
// written survives the reload).
import { Show, type JSX } from 'solid-js';
import { useChat } from '../stores/chat-store';
import { useComposer } from '../stores/composer-store';
import { usePwa } from '../stores/pwa-store';

export function UpdatePrompt(): JSX.Element {
  const pwa = usePwa();
  const chat = useChat();
  const composer = useComposer();
  return (
    <Show when={pwa.needRefresh()}>
      <div class="update-prompt" role="status">
        <p>
          A new version of the app is ready.
          <Show when={composer.attachments().length > 0}>
            {' '}
            Pictures waiting to be sent must be attached again after it reloads.
          </Show>
        </p>
        <button
          type="button"
          class="button primary"
          disabled={chat.generating() !== null}
          title={chat.generating() !== null ? 'Wait for the answer to finish' : undefined}
          onClick={() => {
            composer.keepDraftForReload();
            void pwa.applyUpdate();
          }}
        >
          Reload to update
        </button>
        <button type="button" class="button" onClick={() => pwa.dismiss()}>
          Later
        </button>
      </div>
    </Show>
  );
}
