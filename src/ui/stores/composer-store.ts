// Owns what the user is composing: the draft text and the pictures attached to it, each checked before it is kept.
// A rejected file only adds a notice naming it; the draft, the other pictures and the chat stay as they were.
import { createSignal } from 'solid-js';
import { ImageRejectedError, prepareImage, type PreparedImage } from '../lib/image-intake';
import { newId } from '../lib/ids';
import type { NoticeStore } from './notice-store';
import { storeContext } from './store-context';

export interface Attachment extends PreparedImage {
  key: string;
  url: string;
}

/** Where a draft waits across the reload that applies an app update (this tab only). */
const DRAFT_KEY = 'llava-browser:draft-across-reload';

function takeSavedDraft(): string {
  try {
    const saved = sessionStorage.getItem(DRAFT_KEY) ?? '';
    sessionStorage.removeItem(DRAFT_KEY);
    return saved;
  } catch {
    return '';
  }
}

export function createComposerStore(notices: NoticeStore) {
  const [draft, setDraft] = createSignal(takeSavedDraft());
  const [attachments, setAttachments] = createSignal<Attachment[]>([]);
  const [pending, setPending] = createSignal(0);

  /** Checks and attaches files; resolves with how many were accepted. */
  /**
   * Reads dropped, pasted or picked files; the pictures are attached in the order given (not the order they finish
   * decoding), and every file refused is named in one notice with its reason.
   */
  async function addFiles(files: Iterable<File>): Promise<number> {
    const jobs = [...files].map(async (file): Promise<Attachment | string> => {
      const name = file.name || 'pasted image';
      setPending((n) => n + 1);
      try {
        const image = await prepareImage(file, name);
        if (image.note) notices.info(image.note);
        return { ...image, key: newId('att'), url: URL.createObjectURL(image.blob) };
      } catch (error) {
        return error instanceof ImageRejectedError
          ? error.message
          : `“${name}” could not be read: ${String(error)}`;
      } finally {
        setPending((n) => n - 1);
      }
    });
    const results = await Promise.all(jobs);
    const accepted = results.filter((r): r is Attachment => typeof r !== 'string');
    const refused = results.filter((r): r is string => typeof r === 'string');
    if (accepted.length > 0) setAttachments((list) => [...list, ...accepted]);
    if (refused.length === 1) notices.error(refused[0] as string);
    else if (refused.length > 1) {
      notices.error(`${refused.length} files were not added:\n${refused.map((r) => `• ${r}`).join('\n')}`);
    }
    return accepted.length;
  }

  function remove(key: string): void {
    setAttachments((list) => {
      const gone = list.find((a) => a.key === key);
      if (gone) URL.revokeObjectURL(gone.url);
      return list.filter((a) => a.key !== key);
    });
  }

  /** Hands over the draft and pictures (the caller now owns the object URLs' blobs) and clears the composer. */
  function take(): { text: string; images: Attachment[] } {
    const taken = { text: draft(), images: attachments() };
    setDraft('');
    setAttachments([]);
    return taken;
  }

  /** Puts a draft back (e.g. when sending failed before anything was stored). */
  function restore(text: string, images: Attachment[]): void {
    setDraft(text);
    setAttachments(images);
  }

  /** Keeps the draft text for the page that a reload (an app update) is about to open; pictures are not kept. */
  function keepDraftForReload(): void {
    try {
      if (draft().trim() !== '') sessionStorage.setItem(DRAFT_KEY, draft());
    } catch {
      // Storage blocked: the update still applies, the draft is lost as with any reload.
    }
  }

  return { draft, setDraft, attachments, pending, addFiles, remove, take, restore, keepDraftForReload };
}

export type ComposerStore = ReturnType<typeof createComposerStore>;

export const [ComposerContext, useComposer] = storeContext<ComposerStore>('useComposer', 'ComposerContext');
