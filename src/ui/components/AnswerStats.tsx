// Owns the line under an answer: how long it took and how fast it read, in words (the token counts in its tooltip),
// and how it ended.
import { Show, type JSX } from 'solid-js';
import type { Usage } from '../../shared/protocol';
import type { StoredMessage } from '../../store/conversations';
import { plainSummary, technicalDetails } from '../lib/answer-summary';

/**
 * Why an answer that ended with 'length' stopped, in words: the user's own limit, or the model's context window
 * (which no setting can raise), so that nobody blames the wrong one.
 */
export function lengthEnding(usage: Usage | undefined): string {
  const n = (x: number) => x.toLocaleString('en-US');
  if (usage?.maxNewTokens === undefined) return 'stopped at the length limit';
  const { contextLength, promptTokens, maxNewTokens } = usage;
  if (contextLength !== undefined && promptTokens + maxNewTokens >= contextLength) {
    return (
      `stopped because the model’s context is full: it holds ${n(contextLength)} tokens and this chat used ` +
      `${n(promptTokens)} of them before the answer`
    );
  }
  return `stopped at your limit of ${n(maxNewTokens)} new tokens (Settings → Max new tokens)`;
}

export function AnswerStats(props: { message: StoredMessage }): JSX.Element {
  const ending = () => {
    switch (props.message.status) {
      case 'stopped':
        return 'stopped';
      case 'interrupted':
        return 'interrupted (the page was closed while it was answering)';
      default:
        return props.message.finishReason === 'length' ? lengthEnding(props.message.usage) : undefined;
    }
  };
  return (
    <p class="answer-stats">
      <Show when={props.message.usage}>
        {(u) => (
          <>
            <span class="answer-summary" title={technicalDetails(u())}>
              {plainSummary(u(), props.message.text)}
            </span>
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
