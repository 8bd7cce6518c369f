// Owns the short messages shown to the user (errors, warnings, confirmations). No engine or storage calls.
import { createContext, useContext } from 'solid-js';
import { createStore } from 'solid-js/store';

export type NoticeKind = 'error' | 'warning' | 'info';

export interface Notice {
  id: number;
  kind: NoticeKind;
  text: string;
}

export function createNoticeStore() {
  const [notices, setNotices] = createStore<Notice[]>([]);
  let next = 1;
  const timers = new Map<number, ReturnType<typeof setTimeout>>();

  const dismiss = (id: number) => {
    clearTimeout(timers.get(id));
    timers.delete(id);
    setNotices((list) => list.filter((n) => n.id !== id));
  };

  /** Shows a message; errors stay until dismissed, others fade after a while. */
  const show = (kind: NoticeKind, text: string): number => {
    const id = next++;
    setNotices((list) => [...list.slice(-4), { id, kind, text }]);
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

export const NoticeContext = createContext<NoticeStore>();

export function useNotices(): NoticeStore {
  const store = useContext(NoticeContext);
  if (!store) throw new Error('useNotices() outside <NoticeContext.Provider>');
  return store;
}
