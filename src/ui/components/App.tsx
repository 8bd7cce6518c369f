// Owns the page layout and the page-wide gestures: paste a picture, drop files anywhere, Esc to stop or close, and
// the keyboard shortcuts (the sheet behind "?" lists them).
import { createEffect, createSignal, onCleanup, onMount, Show, type JSX } from 'solid-js';
import { errorMessage } from '../../shared/errors';
import { applyTheme } from '../lib/theme';
import { useChat } from '../stores/chat-store';
import { useComposer } from '../stores/composer-store';
import { useConversations } from '../stores/conversations-store';
import { useModels } from '../stores/model-store';
import { useNotices } from '../stores/notice-store';
import { useSettings } from '../stores/settings-store';
import { Composer } from './Composer';
import { ConversationList } from './ConversationList';
import { DropOverlay } from './DropOverlay';
import { EmptyState } from './EmptyState';
import { FirstRun } from './FirstRun';
import { Header } from './Header';
import { MessageList } from './MessageList';
import { ModelPanel } from './ModelPanel';
import { SettingsDialog } from './SettingsDialog';
import { ShortcutsDialog } from './ShortcutsDialog';
import { Notices } from './Notices';
import { UpdatePrompt } from './UpdatePrompt';

const wide = () => window.matchMedia('(min-width: 900px)').matches;

export function App(): JSX.Element {
  const convs = useConversations();
  const chat = useChat();
  const composer = useComposer();
  const models = useModels();
  const notices = useNotices();
  const { settings } = useSettings();
  const [sidebarOpen, setSidebarOpen] = createSignal(wide());
  const [settingsOpen, setSettingsOpen] = createSignal(false);
  const [shortcutsOpen, setShortcutsOpen] = createSignal(false);
  createEffect(() => onCleanup(applyTheme(settings.theme)));
  let input: HTMLTextAreaElement | undefined;
  const focusInput = () => input?.focus();
  /** Opens the chat list if needed and puts the cursor in its search field (there once a chat is saved). */
  const focusSearch = () => {
    setSidebarOpen(true);
    queueMicrotask(() => document.getElementById('chat-search')?.focus());
  };
  const closePanel = () => {
    models.setPanelOpen(false);
    document.querySelector<HTMLButtonElement>('.model-button')?.focus();
  };

  const showFirstRun = () =>
    convs.ready() &&
    models.ready() &&
    !settings.welcomed &&
    convs.list().length === 0 &&
    models.cached().length === 0;

  const openConversation = async (id: string) => {
    await chat.settle();
    try {
      await convs.open(id);
    } catch (error) {
      notices.error(errorMessage(error));
    }
    if (!wide()) setSidebarOpen(false);
    focusInput();
  };
  const newChat = async () => {
    await chat.settle();
    convs.startNew();
    if (!wide()) setSidebarOpen(false);
    focusInput();
  };

  const onPaste = (e: ClipboardEvent) => {
    const files = [...(e.clipboardData?.files ?? [])];
    if (files.length === 0) return;
    e.preventDefault();
    void composer.addFiles(files);
  };
  /** The app's own shortcuts (listed in ShortcutsDialog); keys typed into a field are left to it. */
  const onShortcut = (e: KeyboardEvent): boolean => {
    const target = e.target as HTMLElement | null;
    const typing = !!target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
    const mod = e.ctrlKey || e.metaKey;
    if (mod && e.shiftKey && e.key.toLowerCase() === 'o') void newChat();
    else if (mod && e.shiftKey && e.key.toLowerCase() === 's') setSettingsOpen(true);
    else if (mod && !e.shiftKey && e.key.toLowerCase() === 'k') focusSearch();
    else if (typing || mod || e.altKey) return false;
    else if (e.key === '?') setShortcutsOpen(true);
    else if (e.key === '/') focusInput();
    else return false;
    return true;
  };
  const onKey = (e: KeyboardEvent) => {
    if (e.defaultPrevented || settingsOpen() || shortcutsOpen()) return;
    if (onShortcut(e)) {
      e.preventDefault();
      return;
    }
    // A modal dialog handles its own Esc.
    if (e.key !== 'Escape') return;
    if (chat.generating() !== null) {
      e.preventDefault();
      chat.stop();
    } else if (models.panelOpen()) {
      closePanel();
    } else if (sidebarOpen() && !wide()) {
      setSidebarOpen(false);
    }
  };

  onMount(() => {
    document.addEventListener('paste', onPaste);
    document.addEventListener('keydown', onKey);
    void models.refresh().then(() => models.loadOnStart());
    void convs
      .init()
      .catch((error: unknown) => notices.error(`Saved chats could not be read: ${String(error)}`));
  });
  onCleanup(() => {
    document.removeEventListener('paste', onPaste);
    document.removeEventListener('keydown', onKey);
  });

  return (
    <div class="app" classList={{ 'sidebar-open': sidebarOpen(), 'panel-open': models.panelOpen() }}>
      <a class="skip-link" href="#composer-input">
        Skip to the message box
      </a>
      <Header
        sidebarOpen={sidebarOpen()}
        onToggleSidebar={() => setSidebarOpen(!sidebarOpen())}
        onNewChat={() => void newChat()}
        onOpenSettings={() => setSettingsOpen(true)}
      />
      <div class="app-body">
        <div id="sidebar" class="sidebar" hidden={!sidebarOpen()}>
          <ConversationList onOpen={(id) => void openConversation(id)} onNew={() => void newChat()} />
        </div>
        <main class="chat" aria-label="Chat">
          <Show when={convs.current.messages.length > 0} fallback={<EmptyState onPick={focusInput} />}>
            <MessageList />
          </Show>
          <Composer ref={(el) => (input = el)} />
        </main>
        <Show when={models.panelOpen()}>
          <div id="model-panel" class="panel-wrap">
            <ModelPanel onClose={closePanel} />
          </div>
        </Show>
      </div>
      <DropOverlay onFiles={(files) => void composer.addFiles(files)} />
      <Show when={settingsOpen()}>
        <SettingsDialog
          onClose={() => {
            setSettingsOpen(false);
            document.querySelector<HTMLButtonElement>('.settings-button')?.focus();
          }}
        />
      </Show>
      <Show when={shortcutsOpen()}>
        <ShortcutsDialog onClose={() => setShortcutsOpen(false)} />
      </Show>
      <Notices />
      <UpdatePrompt />
      <Show when={showFirstRun()}>
        <FirstRun
          onDone={(openPanel) => {
            models.setPanelOpen(openPanel);
            if (!openPanel) focusInput();
          }}
        />
      </Show>
    </div>
  );
}
