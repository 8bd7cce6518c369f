// Owns the sidebar of conversations: new chat, search, the list itself, and moving every chat in or out at once
// (export all, import an exported file next to the chats already here).
import { createSignal, For, Show, type JSX } from 'solid-js';
import { errorMessage } from '../../shared/errors';
import { saveBlob } from '../lib/download';
import { useConversations } from '../stores/conversations-store';
import { useNotices } from '../stores/notice-store';
import { ChatSearch } from './ChatSearch';
import { ConversationItem } from './ConversationItem';
import { Icon } from './Icon';

const chats = (n: number) => `${n} chat${n === 1 ? '' : 's'}`;

export function ConversationList(props: { onOpen: (id: string) => void; onNew: () => void }): JSX.Element {
  const convs = useConversations();
  const notices = useNotices();
  const [query, setQuery] = createSignal('');
  let importer!: HTMLInputElement;

  const exportAll = () => {
    convs.exportAll().then(
      (file) => {
        saveBlob(file.blob, file.name);
        notices.info(
          `Exported ${chats(file.count)} with their pictures and earlier versions to “${file.name}”.`,
        );
      },
      (error: unknown) => notices.error(`Export failed: ${errorMessage(error)}`),
    );
  };
  const importChats = (file: File) => {
    convs.importFile(file).then(
      ({ imported, alreadyHere }) =>
        notices.info(
          imported === 0 && alreadyHere > 0
            ? `Nothing new in “${file.name}”: ${alreadyHere === 1 ? 'its chat is' : `all ${alreadyHere} of its chats are`} already here.`
            : `Imported ${chats(imported)} from “${file.name}”` +
                (alreadyHere > 0 ? ` (${chats(alreadyHere)} already here, left as they are).` : '.'),
        ),
      (error: unknown) =>
        notices.error(
          `“${file.name}” could not be imported: ${errorMessage(error)} Your chats are unchanged.`,
        ),
    );
  };

  return (
    <nav class="conversations" aria-label="Chats">
      <div class="conversations-head">
        <h2>Chats</h2>
        <button type="button" class="button" onClick={() => props.onNew()}>
          <Icon name="plus" size={16} /> New chat
        </button>
      </div>
      <Show when={convs.list().length > 0}>
        <ChatSearch query={query()} onQuery={setQuery} onOpen={props.onOpen} />
      </Show>
      <Show when={query().trim() === ''}>
        <Show
          when={convs.list().length > 0}
          fallback={<p class="muted conversations-empty">No saved chats yet.</p>}
        >
          <ul class="conversation-list">
            <For each={convs.list()}>
              {(s) => (
                <ConversationItem summary={s} active={s.id === convs.current.id} onOpen={props.onOpen} />
              )}
            </For>
          </ul>
        </Show>
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
            if (file) importChats(file);
          }}
        />
        <button
          type="button"
          class="button"
          aria-label="Import chats"
          title="Import chats from an exported JSON file; the chats here are kept"
          onClick={() => importer.click()}
        >
          <Icon name="upload" size={16} /> Import
        </button>
        <Show when={convs.list().length > 0}>
          <button
            type="button"
            class="button export-all"
            title="Every chat, with its pictures and earlier versions, in one JSON file"
            onClick={exportAll}
          >
            <Icon name="download" size={16} /> Export all
          </button>
        </Show>
      </div>
    </nav>
  );
}
