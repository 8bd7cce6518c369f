// Owns the scrolling list of messages of the open conversation; it follows the answer while the user is at the bottom.
import { createEffect, For, Match, Switch, type JSX } from 'solid-js';
import { useChat } from '../stores/chat-store';
import { useConversations } from '../stores/conversations-store';
import { AssistantMessage } from './AssistantMessage';
import { UserMessage } from './UserMessage';

export function MessageList(): JSX.Element {
  const convs = useConversations();
  const chat = useChat();
  let list!: HTMLDivElement;
  let pinned = true;
  let shownCount = 0;
  let shownStatus: string | undefined;

  createEffect(() => {
    // Track the last message's text so streaming keeps the view at the bottom.
    const msgs = convs.current.messages;
    const last = msgs[msgs.length - 1];
    void last?.text;
    void chat.generating();
    // A new message (a question sent, an answer started) or an answer that just failed is always brought into
    // view, even when the user had scrolled up: otherwise pressing Enter can look like nothing happened.
    const added = msgs.length > shownCount;
    const failed = last?.status === 'error' && shownStatus !== 'error';
    shownCount = msgs.length;
    shownStatus = last?.status;
    if (added || failed) pinned = true;
    if (pinned) requestAnimationFrame(() => list.scrollTo({ top: list.scrollHeight }));
  });

  return (
    <div
      class="message-list"
      ref={list}
      role="log"
      aria-label="Conversation"
      aria-live="polite"
      aria-busy={chat.generating() !== null}
      tabindex="0"
      onScroll={() => {
        pinned = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
      }}
    >
      <For each={convs.current.messages}>
        {(message, i) => (
          <Switch>
            <Match when={message.role === 'user'}>
              <UserMessage message={message} />
            </Match>
            <Match when={message.role === 'assistant'}>
              <AssistantMessage message={message} last={i() === convs.current.messages.length - 1} />
            </Match>
          </Switch>
        )}
      </For>
    </div>
  );
}
