// Owns when the draft is worked ahead on: a moment after the user stops typing, and never while an answer is on its
// way. The chat store decides whether a draft qualifies and builds the request; this module only times it.
import { createEffect, createMemo, createRoot, onCleanup } from 'solid-js';
import { createDebouncedJob } from '../lib/debounced-job';
import type { Attachment, ComposerStore } from './composer-store';
import type { ChatStore, DraftTarget } from './chat-store';

/** Long enough to skip the words in between while someone types, short enough to finish before most sends. */
export const WORK_AHEAD_DELAY_MS = 400;

export interface WorkAheadDeps {
  composer: ComposerStore;
  chat: ChatStore;
  delayMs?: number;
}

interface DraftJob {
  text: string;
  images: Attachment[];
  target: DraftTarget;
}

function sameJob(a: DraftJob | null, b: DraftJob | null): boolean {
  if (a === null || b === null) return a === b;
  return (
    a.text === b.text &&
    a.images === b.images &&
    a.target.conversationId === b.target.conversationId &&
    a.target.turns === b.target.turns &&
    a.target.modelId === b.target.modelId
  );
}

/**
 * Starts watching the composer; each new draft aborts the work on the one before. It has its own reactive root
 * because the stores are created outside any component: `dispose` ends it.
 */
export function createWorkAhead(deps: WorkAheadDeps): { dispose: () => void } {
  const { composer, chat } = deps;
  return createRoot((dispose) => {
    const job = createDebouncedJob(deps.delayMs ?? WORK_AHEAD_DELAY_MS);
    onCleanup(() => job.dispose());
    // Only a change in what would be prepared reschedules: unrelated updates (a status refresh) must not restart it.
    const draft = createMemo<DraftJob | null>(
      () => {
        // Trimmed as the composer sends it, so that the prepared words are the ones the answer will read.
        const text = composer.draft().trim();
        const images = composer.attachments();
        const target = chat.draftTarget(text, images.length);
        return target ? { text, images, target } : null;
      },
      null,
      { equals: sameJob },
    );
    createEffect(() => {
      const next = draft();
      if (next) job.schedule((signal) => chat.prepareDraft(next.text, next.images, signal));
      else job.cancel();
    });
    return { dispose };
  });
}
