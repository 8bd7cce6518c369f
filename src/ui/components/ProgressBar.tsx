// Owns one accessible progress bar (native <progress>, labelled, with a text value for screen readers).
import type { JSX } from 'solid-js';
import { percent } from '../lib/format';

export function ProgressBar(props: { label: string; loaded: number; total: number; valueText: string }): JSX.Element {
  return (
    <progress
      class="progress"
      aria-label={props.label}
      aria-valuetext={props.valueText}
      max="100"
      value={props.total > 0 ? percent(props.loaded, props.total) : undefined}
    />
  );
}
