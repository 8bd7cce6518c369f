// Owns telling the user that the app works offline now, or that a new version is ready (and applying it).
import { Show, type JSX } from 'solid-js';
import { useChat } from '../stores/chat-store';
import { usePwa } from '../stores/pwa-store';

export function UpdatePrompt(): JSX.Element {
  const pwa = usePwa();
  const chat = useChat();
  return (
    <Show when={pwa.needRefresh() || pwa.offlineReady()}>
      <div class="update-prompt" role="status">
        <Show when={pwa.needRefresh()} fallback={<p>The app is installed for offline use.</p>}>
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
        </Show>
        <button type="button" class="button" onClick={() => pwa.dismiss()}>
          {pwa.needRefresh() ? 'Later' : 'OK'}
        </button>
      </div>
    </Show>
  );
}
