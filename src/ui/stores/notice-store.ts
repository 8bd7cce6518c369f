// Owns the short messages shown to the user (errors, warnings, confirmations). No engine or storage calls.
import { createStore } from 'solid-js/store';
import { storeContext } from './store-context';

export type NoticeKind = 'error' | 'warning' | 'info';

export interface Notice {
  id: number;
  kind: NoticeKind;
  text: string;
}

/** Info and warning notices shown at once. */
const MAX_FADING = 3;

export function createNoticeStore() {
  const [notices, setNotices] = createStore<Notice[]>([]);
  let next = 1;
  const timers = new Map<number, ReturnType<typeof setTimeout>>();

  const dismiss = (id: number) => {
    clearTimeout(timers.get(id));
    timers.delete(id);
    setNotices((list) => list.filter((n) => n.id !== id));
  };

  /**
   * Shows a message; errors stay until dismissed, others fade after a while. Only the most recent few of those that
   * fade are kept, so a burst of them never pushes an error out.
   */
  const show = (kind: NoticeKind, text: string): number => {
    const id = next++;
    setNotices((list) => {
      const all = [...list, { id, kind, text }];
      const fading = all.filter((n) => n.kind !== 'error');
      const dropped = new Set(fading.slice(0, Math.max(0, fading.length - MAX_FADING)).map((n) => n.id));
      return all.filter((n) => !dropped.has(n.id));
    });
    if (kind !== 'error')
      timers.set(
        id,
        setTimeout(() => dismiss(id), 8000),
      );
    return id;
  };

  return {
    notices,
    show,
    dismiss,
    error: (t: string) => show('error', t),
    info: (t: string) => show('info', t),
    warn: (t: string) => show('warning', t),
  };
}

export type NoticeStore = ReturnType<typeof createNoticeStore>;

export const [NoticeContext, useNotices] = storeContext<NoticeStore>('useNotices', 'NoticeContext');
