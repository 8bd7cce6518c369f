// Owns the one-line hint under an answer of the built-in micro model about a picture it was not made for (anything
// but the app's own sample scenes): the answer stands, the hint says what the model knows and where a real one is.
import { createResource, Show, type JSX } from 'solid-js';
import type { StoredMessage } from '../../store/conversations';
import { BUILT_IN_MODEL_ID } from '../../store/catalog';
import { isSampleSceneName } from '../lib/sample-scenes';
import { useConversations } from '../stores/conversations-store';

export function PhotoHint(props: { message: StoredMessage }): JSX.Element {
  const convs = useConversations();
  /** Every picture of the conversation up to this answer (a follow-up still looks at the first turn's picture). */
  const imageIds = () => {
    if (props.message.modelId !== BUILT_IN_MODEL_ID) return null;
    const messages = convs.current.messages;
    const upTo = messages.findIndex((m) => m.id === props.message.id);
    const ids = messages.slice(0, upTo < 0 ? messages.length : upTo).flatMap((m) => m.imageIds);
    return ids.length > 0 ? ids : null;
  };
  const [foreign] = createResource(imageIds, async (ids) =>
    (await convs.imageViews(ids)).some((img) => !isSampleSceneName(img.name)),
  );
  return (
    <Show when={foreign()}>
      <p class="photo-hint small muted" role="note">
        This built-in model only knows simple coloured shapes on a grey background; for photos, download a
        real model in the model panel.
      </p>
    </Show>
  );
}
