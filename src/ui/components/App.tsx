// Owns the page layout and the page-wide gestures: paste a picture, drop files anywhere, Esc to stop or close.
import { createSignal, onCleanup, onMount, Show, type JSX } from 'solid-js';
import { errorMessage } from '../../shared/errors';
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
  let input: HTMLTextAreaElement | undefined;
  const focusInput = () => input?.focus();
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
  const onKey = (e: KeyboardEvent) => {
    if (e.key !== 'Escape' || e.defaultPrevented) return;
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
    void models.refresh();
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
