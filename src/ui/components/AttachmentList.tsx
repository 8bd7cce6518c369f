// Owns the thumbnails of pictures waiting to be sent, each with a remove button.
import { For, Show, type JSX } from 'solid-js';
import { useComposer } from '../stores/composer-store';
import { Icon } from './Icon';

export function AttachmentList(): JSX.Element {
  const composer = useComposer();
  return (
    <Show when={composer.attachments().length > 0 || composer.pending() > 0}>
      <ul class="attachments" aria-label="Pictures to send">
        <For each={composer.attachments()}>
          {(a) => (
            <li class="attachment">
              <img src={a.url} alt={a.name} title={`${a.name} (${a.width}×${a.height})`} />
              <button
                type="button"
                class="attachment-remove"
                aria-label={`Remove ${a.name}`}
                onClick={() => composer.remove(a.key)}
              >
                <Icon name="close" size={14} />
              </button>
            </li>
          )}
        </For>
        <Show when={composer.pending() > 0}>
          <li class="attachment attachment-pending" aria-live="polite">
            Preparing…
          </li>
        </Show>
      </ul>
    </Show>
  );
}
