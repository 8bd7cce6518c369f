// Owns the stack of messages to the user (errors stay until dismissed); announced to screen readers.
import { For, type JSX } from 'solid-js';
import { useNotices } from '../stores/notice-store';
import { Icon } from './Icon';

export function Notices(): JSX.Element {
  const notices = useNotices();
  return (
    <div class="notices" aria-live="polite">
      <For each={notices.notices}>
        {(n) => (
          <div class={`notice notice-${n.kind}`} role={n.kind === 'error' ? 'alert' : 'status'}>
            <p>{n.text}</p>
            <button
              type="button"
              class="icon-button"
              aria-label="Dismiss message"
              onClick={() => notices.dismiss(n.id)}
            >
              <Icon name="close" size={16} />
            </button>
          </div>
        )}
      </For>
    </div>
  );
}
