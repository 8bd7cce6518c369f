// Owns what a new chat shows: how to start, and the prompt starters.
import type { JSX } from 'solid-js';
import { PromptStarters } from './PromptStarters';

export function EmptyState(props: { onPick: () => void }): JSX.Element {
  return (
    <section class="empty-state" aria-labelledby="empty-title">
      <h2 id="empty-title">Chat about a picture</h2>
      <p>
        Drop a photo anywhere on this page, paste one, or attach it below — then ask a question. The model
        runs on your own device; nothing is uploaded.
      </p>
      <PromptStarters onPick={props.onPick} />
    </section>
  );
}
