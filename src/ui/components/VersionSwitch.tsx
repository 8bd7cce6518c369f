// Owns the "‹ 2/3 ›" control of a message that has other versions (an edited question, a regenerated answer):
// switching shows that version and what followed it. It only shows up where there is more than one version.
import { Show, type JSX } from 'solid-js';
import { siblingsOf } from '../../store/branches';
import { useChat } from '../stores/chat-store';
import { useConversations } from '../stores/conversations-store';

export function VersionSwitch(props: { messageId: string; what: 'question' | 'answer' }): JSX.Element {
  const chat = useChat();
  const convs = useConversations();
  const versions = () => siblingsOf(convs.current, props.messageId);
  const busy = () => chat.generating() !== null;
  return (
    <Show when={versions().ids.length > 1}>
      <span class="version-switch" role="group" aria-label={`Versions of this ${props.what}`}>
        <button
          type="button"
          class="icon-button version-prev"
          aria-label={`Previous version of this ${props.what}`}
          disabled={busy() || versions().index <= 0}
          onClick={() => void chat.switchVersion(props.messageId, -1)}
        >
          ‹
        </button>
        <span class="version-count">
          {versions().index + 1}/{versions().ids.length}
        </span>
        <button
          type="button"
          class="icon-button version-next"
          aria-label={`Next version of this ${props.what}`}
          disabled={busy() || versions().index >= versions().ids.length - 1}
          onClick={() => void chat.switchVersion(props.messageId, 1)}
        >
          ›
        </button>
      </span>
    </Show>
  );
}
