// Owns one accessible progress bar (native <progress>, labelled, with a text value); indeterminate while the total
// is unknown.
import { Show, type JSX } from 'solid-js';
import { percent } from '../lib/format';

export function ProgressBar(props: {
  label: string;
  loaded: number;
  total: number;
  valueText: string;
}): JSX.Element {
  return (
    <Show
      when={props.total > 0}
      fallback={<progress class="progress" aria-label={props.label} aria-valuetext={props.valueText} />}
    >
      <progress
        class="progress"
        aria-label={props.label}
        aria-valuetext={props.valueText}
        max="100"
        value={percent(props.loaded, props.total)}
      />
    </Show>
  );
}
