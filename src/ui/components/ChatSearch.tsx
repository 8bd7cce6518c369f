// Owns finding a saved chat: the search field at the top of the chat list and its results (title, and where the words
// were found). Enter opens the first result, ↓ moves into the results, Esc clears the field.
import { createEffect, createSignal, For, onCleanup, Show, type JSX } from 'solid-js';
import type { SearchHit } from '../../store/conversation-search';
import { useConversations } from '../stores/conversations-store';
import { Icon } from './Icon';

/** Milliseconds of typing pause before the saved chats are searched. */
const SEARCH_PAUSE_MS = 150;

export function ChatSearch(props: {
  query: string;
  onQuery: (query: string) => void;
  onOpen: (id: string) => void;
}): JSX.Element {
  const convs = useConversations();
  const [hits, setHits] = createSignal<SearchHit[] | null>(null);
  let results: HTMLUListElement | undefined;

  createEffect(() => {
    const query = props.query.trim();
    // Read so that a new, renamed or deleted chat searches again.
    convs.list();
    if (query === '') {
      setHits(null);
      return;
    }
    let stale = false;
    const timer = setTimeout(() => {
      void convs.search(query).then((found) => {
        if (!stale) setHits(found);
      });
    }, SEARCH_PAUSE_MS);
    onCleanup(() => {
      stale = true;
      clearTimeout(timer);
    });
  });

  const onKeyDown = (e: KeyboardEvent) => {
    if (e.key === 'Escape' && props.query !== '') {
      e.stopPropagation();
      props.onQuery('');
    } else if (e.key === 'Enter') {
      e.preventDefault();
      const first = hits()?.[0];
      if (first) props.onOpen(first.id);
    } else if (e.key === 'ArrowDown') {
      const first = results?.querySelector<HTMLButtonElement>('button');
      if (first) {
        e.preventDefault();
        first.focus();
      }
    }
  };
  // ↑/↓ walk the results; ↑ on the first goes back to the field.
  const onResultsKey = (e: KeyboardEvent) => {
    if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return;
    const buttons = [...(results?.querySelectorAll<HTMLButtonElement>('button') ?? [])];
    const at = buttons.indexOf(document.activeElement as HTMLButtonElement);
    const next = at + (e.key === 'ArrowDown' ? 1 : -1);
    e.preventDefault();
    if (next < 0) document.getElementById('chat-search')?.focus();
    else buttons[Math.min(next, buttons.length - 1)]?.focus();
  };

  return (
    <div class="chat-search">
      <div class="chat-search-field">
        <Icon name="search" size={16} />
        <input
          id="chat-search"
          type="search"
          placeholder="Search chats"
          aria-label="Search chats by title and message text"
          aria-controls="chat-search-results"
          autocomplete="off"
          value={props.query}
          onInput={(e) => props.onQuery(e.currentTarget.value)}
          onKeyDown={onKeyDown}
        />
      </div>
      <Show when={props.query.trim() !== '' && hits()}>
        {(found) => (
          <>
            <p class="visually-hidden" role="status">
              {found().length === 0
                ? 'No chat matches.'
                : `${found().length} chat${found().length === 1 ? '' : 's'} found.`}
            </p>
            <Show
              when={found().length > 0}
              fallback={<p class="muted conversations-empty">No chat contains “{props.query.trim()}”.</p>}
            >
              <ul
                id="chat-search-results"
                class="conversation-list search-results"
                ref={results}
                onKeyDown={onResultsKey}
              >
                <For each={found()}>
                  {(hit) => (
                    <li class="conversation" classList={{ active: hit.id === convs.current.id }}>
                      <button type="button" class="conversation-open" onClick={() => props.onOpen(hit.id)}>
                        <span class="conversation-title">{hit.title}</span>
                        <Show when={hit.snippet}>{(s) => <span class="search-snippet">{s()}</span>}</Show>
                      </button>
                    </li>
                  )}
                </For>
              </ul>
            </Show>
          </>
        )}
      </Show>
    </div>
  );
}
