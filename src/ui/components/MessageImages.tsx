// Owns showing the pictures attached to a sent message (loaded from the conversation store as object URLs).
import { createResource, For, Show, type JSX } from 'solid-js';
import { useConversations } from '../stores/conversations-store';

export function MessageImages(props: { ids: string[] }): JSX.Element {
  const convs = useConversations();
  const [views] = createResource(
    () => props.ids.slice(),
    (ids) => convs.imageViews(ids),
  );
  return (
    <Show when={props.ids.length > 0}>
      <div class="message-images">
        <For each={views() ?? []}>
          {(img) => (
            <a href={img.url} target="_blank" rel="noopener" class="message-image">
              <img
                classList={{ 'pixel-art': img.width <= 64 && img.height <= 64 }}
                src={img.url}
                alt={`Attached picture ${img.name}`}
                width={img.width}
                height={img.height}
                loading="lazy"
              />
            </a>
          )}
        </For>
      </div>
    </Show>
  );
}
