// Owns telling the user that a new version of the app is ready, and applying it when they say so.
import { Show, type JSX } from 'solid-js';
import { useChat } from '../stores/chat-store';
import { usePwa } from '../stores/pwa-store';

export function UpdatePrompt(): JSX.Element {
  const pwa = usePwa();
  const chat = useChat();
  return (
    <Show when={pwa.needRefresh()}>
      <div class="update-prompt" role="status">
        <p>A new version of the app is ready.</p>
        <button
          type="button"
          class="button primary"
          disabled={chat.generating() !== null}
          title={chat.generating() !== null ? 'Wait for the answer to finish' : undefined}
          onClick={() => void pwa.applyUpdate()}
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
