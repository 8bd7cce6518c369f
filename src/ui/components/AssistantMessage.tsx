// Owns one answer: streamed Markdown with a cursor, its error if it failed, its speed, copy/regenerate, versions.
import { createSignal, Show, type JSX } from 'solid-js';
import type { StoredMessage } from '../../store/conversations';
import { useChat } from '../stores/chat-store';
import { useEngine } from '../stores/engine-store';
import { AnswerStats } from './AnswerStats';
import { Icon } from './Icon';
import { MarkdownView } from './MarkdownView';
import { PhotoHint } from './PhotoHint';
import { VersionSwitch } from './VersionSwitch';

export function AssistantMessage(props: { message: StoredMessage; last: boolean }): JSX.Element {
  const chat = useChat();
  const engine = useEngine();
  const [copied, setCopied] = createSignal(false);
  const streaming = () => chat.generating() === props.message.id;
  const waiting = () => {
    if (!streaming() || props.message.text !== '') return undefined;
    const load = engine.load.current;
    if (load && (load.phase === 'downloading' || load.phase === 'verifying' || load.phase === 'starting')) {
      return `Loading ${load.label}…`;
    }
    return 'Reading the picture and thinking…';
  };
  const copy = () => {
    void navigator.clipboard.writeText(props.message.text).then(() => {
      setCopied(true);
      setTimeout(() => setCopied(false), 1500);
    });
  };

  return (
    <article
      class="message message-assistant"
      aria-label="Answer"
      aria-busy={streaming()}
      data-status={props.message.status ?? 'done'}
    >
      <Show when={waiting()}>
        {(w) => (
          <p class="message-waiting">
            {w()}
            <span class="cursor" aria-hidden="true" />
          </p>
        )}
      </Show>
      <Show when={props.message.text !== ''}>
        <MarkdownView text={props.message.text} streaming={streaming()} />
      </Show>
      <Show when={props.message.text === '' && props.message.status === 'done'}>
        <p class="message-empty">The model gave an empty answer (it ended its reply at once).</p>
      </Show>
      <Show when={props.message.status === 'error' && props.message.error}>
        {(err) => (
          <p class="message-error" role="alert">
            {err().message}
          </p>
        )}
      </Show>
      <Show when={!streaming()}>
        <PhotoHint message={props.message} />
        <AnswerStats message={props.message} />
        <div class="message-actions">
          <VersionSwitch messageId={props.message.id} what="answer" />
          <Show when={props.message.text !== ''}>
            <button
              type="button"
              class="icon-button"
              aria-label="Copy answer"
              title="Copy answer"
              onClick={copy}
            >
              <Icon name={copied() ? 'check' : 'copy'} size={16} />
            </button>
          </Show>
          <Show when={props.last}>
            <button
              type="button"
              class="icon-button"
              aria-label="Regenerate answer"
              title="Regenerate"
              disabled={chat.generating() !== null}
              onClick={() => void chat.regenerate()}
            >
              <Icon name="refresh" size={16} />
            </button>
          </Show>
        </div>
      </Show>
    </article>
  );
}
