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

  createEffect(() => {
    // Track the last message's text so streaming keeps the view at the bottom.
    const msgs = convs.current.messages;
    void msgs[msgs.length - 1]?.text;
    void msgs[msgs.length - 1]?.status;
    void msgs.length;
    void chat.generating();
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
