// Owns dropping files anywhere on the page: shows a target while files are dragged and hands dropped files over.
import { createSignal, onCleanup, onMount, Show, type JSX } from 'solid-js';

function hasFiles(e: DragEvent): boolean {
  return [...(e.dataTransfer?.types ?? [])].includes('Files');
}

export function DropOverlay(props: { onFiles: (files: File[]) => void }): JSX.Element {
  const [active, setActive] = createSignal(false);
  let depth = 0;
  const enter = (e: DragEvent) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    depth++;
    setActive(true);
  };
  const over = (e: DragEvent) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    if (e.dataTransfer) e.dataTransfer.dropEffect = 'copy';
  };
  const leave = (e: DragEvent) => {
    if (!hasFiles(e)) return;
    depth = Math.max(0, depth - 1);
    if (depth === 0) setActive(false);
  };
  const drop = (e: DragEvent) => {
    if (!e.dataTransfer) return;
    const files = [...e.dataTransfer.files];
    depth = 0;
    setActive(false);
    if (files.length === 0) return;
    e.preventDefault();
    props.onFiles(files);
  };
  onMount(() => {
    window.addEventListener('dragenter', enter);
    window.addEventListener('dragover', over);
    window.addEventListener('dragleave', leave);
    window.addEventListener('drop', drop);
  });
  onCleanup(() => {
    window.removeEventListener('dragenter', enter);
    window.removeEventListener('dragover', over);
    window.removeEventListener('dragleave', leave);
    window.removeEventListener('drop', drop);
  });
  return (
    <Show when={active()}>
      <div class="drop-overlay" aria-hidden="true">
        <p>Drop pictures to attach them</p>
      </div>
    </Show>
  );
}
