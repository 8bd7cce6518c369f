// Owns the sidebar of conversations: new chat, import of an exported file, and the list itself.
import { For, Show, type JSX } from 'solid-js';
import { errorMessage } from '../../shared/errors';
import { useConversations } from '../stores/conversations-store';
import { useNotices } from '../stores/notice-store';
import { ConversationItem } from './ConversationItem';
import { Icon } from './Icon';

export function ConversationList(props: { onOpen: (id: string) => void; onNew: () => void }): JSX.Element {
  const convs = useConversations();
  const notices = useNotices();
  let importer!: HTMLInputElement;

  return (
    <nav class="conversations" aria-label="Chats">
      <div class="conversations-head">
        <h2>Chats</h2>
        <button type="button" class="button" onClick={() => props.onNew()}>
          <Icon name="plus" size={16} /> New chat
        </button>
      </div>
      <Show
        when={convs.list().length > 0}
        fallback={<p class="muted conversations-empty">No saved chats yet.</p>}
      >
        <ul class="conversation-list">
          <For each={convs.list()}>
            {(s) => <ConversationItem summary={s} active={s.id === convs.current.id} onOpen={props.onOpen} />}
          </For>
        </ul>
      </Show>
      <div class="conversations-foot">
        <input
          ref={importer}
          id="import-chat"
          type="file"
          accept="application/json,.json"
          class="visually-hidden"
          tabindex="-1"
          aria-hidden="true"
          onChange={(e) => {
            const file = e.currentTarget.files?.[0];
            e.currentTarget.value = '';
            if (!file) return;
            convs.importFile(file).then(
              (n) => notices.info(`Imported ${n} chat${n === 1 ? '' : 's'} from “${file.name}”.`),
              (error: unknown) =>
                notices.error(`“${file.name}” could not be imported: ${errorMessage(error)}`),
            );
          }}
        />
        <button type="button" class="button" onClick={() => importer.click()}>
          <Icon name="upload" size={16} /> Import chat (JSON)
        </button>
      </div>
    </nav>
  );
}
