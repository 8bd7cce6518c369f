// Owns pointing to the in-browser training demo (train.html), a separate page that is not part of the offline app.
import type { JSX } from 'solid-js';

export function TrainingLink(): JSX.Element {
  return (
    <section class="training-link" aria-labelledby="training-link-title">
      <h3 id="training-link-title">How LLaVA learns to see</h3>
      <p class="hint">
        {/* Relative, so it works wherever the app is deployed (a sub-path included). */}
        <a href="train.html" target="_blank" rel="noopener">
          Align a fresh projector in your browser
        </a>{' '}
        — LLaVA's stage 1 on a micro model, in a worker, with a progress bar. Opens a separate page that needs
        the network the first time.
      </p>
    </section>
  );
}
