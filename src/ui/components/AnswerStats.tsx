// Owns the line under an answer: time to first token, tokens per second, token counts, how it ended.
import { Show, type JSX } from 'solid-js';
import type { StoredMessage } from '../../store/conversations';
import { formatMs } from '../lib/format';

export function AnswerStats(props: { message: StoredMessage }): JSX.Element {
  const ending = () => {
    switch (props.message.status) {
      case 'stopped':
        return 'stopped';
      case 'interrupted':
        return 'interrupted (the page was closed while it was answering)';
      default:
        return props.message.finishReason === 'length' ? 'hit the token limit' : undefined;
    }
  };
  return (
    <p class="answer-stats">
      <Show when={props.message.usage}>
        {(u) => (
          <>
            <span title="Time to first token">first token {formatMs(u().timeToFirstTokenMs)}</span>
            <span title="Decode speed">{u().decodeTokensPerS.toFixed(1)} tokens/s</span>
            <span title="Prompt and answer tokens">
              {u().promptTokens} + {u().completionTokens} tokens
            </span>
            <Show when={u().reusedPromptTokens}>
              {(n) => (
                <span
                  class="answer-reused"
                  title="Prompt tokens whose KV cache was kept from the previous turn instead of being read again"
                >
                  {n()} reused
                </span>
              )}
            </Show>
            <Show when={u().droppedMessages}>
              {(n) => (
                <span
                  class="answer-dropped"
                  title="The chat still keeps these messages; only the model no longer sees them, so that the conversation fits its context window"
                >
                  {n()} earlier {n() === 1 ? 'message' : 'messages'} left out to fit the context
                </span>
              )}
            </Show>
          </>
        )}
      </Show>
      <Show when={ending()}>{(e) => <span class="answer-ending">{e()}</span>}</Show>
    </p>
  );
}
