// Owns the service worker as the UI sees it: offline-ready, "update available" and applying the update, and the
// one reload that makes the page cross-origin isolated on hosts that cannot send the headers themselves.
import { createEffect, createRoot, createSignal } from 'solid-js';
import { registerSW } from 'virtual:pwa-register';
import type { NoticeStore } from './notice-store';
import { storeContext } from './store-context';

const ISOLATION_RELOAD_KEY = 'llava-browser:isolation-reload';

/** Chromium's install offer; not in TypeScript's DOM types. */
interface InstallPromptEvent extends Event {
  prompt(): Promise<unknown>;
}

/**
 * `usableOffline` says whether something worth opening offline is stored (a complete model): the app shell alone
 * opens offline but cannot answer, so "works offline" waits for both.
 */
export function createPwaStore(notices: NoticeStore, usableOffline: () => boolean) {
  const [needRefresh, setNeedRefresh] = createSignal(false);
  const [offlineReady, setOfflineReady] = createSignal(false);
  let announced = false;
  // Lives as long as the app: the store is created once, outside any component.
  createRoot(() =>
    createEffect(() => {
      if (announced || !offlineReady() || !usableOffline()) return;
      announced = true;
      notices.info('Ready offline: the app and your stored model now open without a connection.');
    }),
  );
  let update: (reload?: boolean) => Promise<void> = async () => undefined;

  /**
   * When the service worker controls the page but the page is not isolated, the host did not send COOP/COEP and
   * this load came from the network: reload once so that the worker's headers apply (multi-threaded WASM).
   */
  function isolateIfNeeded(): void {
    if (globalThis.crossOriginIsolated || !navigator.serviceWorker?.controller) return;
    if (sessionStorage.getItem(ISOLATION_RELOAD_KEY)) return;
    sessionStorage.setItem(ISOLATION_RELOAD_KEY, '1');
    location.reload();
  }

  // The browser's offer to install the app (Chromium's beforeinstallprompt), kept until the user takes it.
  const [installOffer, setInstallOffer] = createSignal<InstallPromptEvent | null>(null);
  function listenForInstallOffer(): void {
    window.addEventListener('beforeinstallprompt', (event) => {
      // Without this the browser shows its own mini-infobar; the app offers the same with its Install button.
      event.preventDefault();
      setInstallOffer(event as InstallPromptEvent);
    });
    window.addEventListener('appinstalled', () => setInstallOffer(null));
  }

  /** Shows the browser's install dialog; the offer is spent either way. */
  async function install(): Promise<void> {
    const offer = installOffer();
    if (!offer) return;
    setInstallOffer(null);
    await offer.prompt();
  }

  function start(): void {
    listenForInstallOffer();
    if (!('serviceWorker' in navigator)) return;
    update = registerSW({
      immediate: true,
      onNeedRefresh: () => setNeedRefresh(true),
      onOfflineReady: () => setOfflineReady(true),
    });
    isolateIfNeeded();
    navigator.serviceWorker.addEventListener('controllerchange', isolateIfNeeded);
  }

  return {
    needRefresh,
    offlineReady,
    start,
    /** Activates the waiting version; the page reloads into it. */
    applyUpdate: () => update(true),
    dismiss: () => setNeedRefresh(false),
    /** True while the browser offers to install the app. */
    canInstall: () => installOffer() !== null,
    install,
  };
}

export type PwaStore = ReturnType<typeof createPwaStore>;

export const [PwaContext, usePwa] = storeContext<PwaStore>('usePwa', 'PwaContext');
