// Owns what a new chat shows: how to start, and the starters — sample scenes for a micro model (built in, or aligned
// on the training page) or when no model is chosen yet, the showcase prompts for a real model.
import { Show, type JSX } from 'solid-js';
import { isMicroModelId } from '../../store/catalog';
import { useSettings } from '../stores/settings-store';
import { PromptStarters } from './PromptStarters';
import { SampleScenes } from './SampleScenes';

export function EmptyState(props: { onPick: () => void }): JSX.Element {
  const { settings } = useSettings();
  const micro = () => settings.modelId === null || isMicroModelId(settings.modelId);
  return (
    <section class="empty-state" aria-labelledby="empty-title">
      <h2 id="empty-title">Chat about a picture</h2>
      <p>
        Drop a photo anywhere on this page, paste one, or attach it below — then ask a question. The model
        runs on your own device; nothing is uploaded.
      </p>
      <Show when={micro()} fallback={<PromptStarters onPick={props.onPick} />}>
        <p class="small">
          The micro model knows only coloured circles, squares and triangles on a grey background. For photos,
          download a real model in the model panel.
        </p>
        <SampleScenes />
      </Show>
    </section>
  );
}
