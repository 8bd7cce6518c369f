// Owns applying the colour theme: the root element's data-theme is always 'light' or 'dark' (the styles key on it),
// following the system's preference while the setting says 'system'. No storage, no stores.
import type { Theme } from '../stores/settings-store';

const darkQuery = () => globalThis.matchMedia?.('(prefers-color-scheme: dark)');

/** Applies `theme` now and, for 'system', whenever the system's preference changes; returns a stop function. */
export function applyTheme(theme: Theme, root: HTMLElement = document.documentElement): () => void {
  const query = darkQuery();
  const set = () => {
    root.dataset.theme = theme === 'system' ? (query?.matches ? 'dark' : 'light') : theme;
  };
  set();
  if (theme !== 'system' || !query) return () => undefined;
  query.addEventListener('change', set);
  return () => query.removeEventListener('change', set);
}
