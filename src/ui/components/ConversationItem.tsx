// Owns one row of the conversation list: open it; for the open one, rename, export (JSON, Markdown) and delete.
import { createSignal, Show, type JSX } from 'solid-js';
import type { ConversationSummary } from '../../store/conversations';
import { errorMessage } from '../../shared/errors';
import { saveBlob } from '../lib/download';
import { canSaveToFolder, downloadEach, saveToFolder } from '../lib/save-files';
import { useConversations } from '../stores/conversations-store';
import { useNotices } from '../stores/notice-store';
import { Icon } from './Icon';

export function ConversationItem(props: {
  summary: ConversationSummary;
  active: boolean;
  onOpen: (id: string) => void;
}): JSX.Element {
  const convs = useConversations();
  const notices = useNotices();
  const [renaming, setRenaming] = createSignal(false);
  const [confirming, setConfirming] = createSignal(false);
  let field!: HTMLInputElement;

  const exportJson = () => {
    convs.exportConversation(props.summary.id).then(
      (file) => saveBlob(file.blob, file.name),
      (error: unknown) => notices.error(`Export failed: ${errorMessage(error)}`),
    );
  };
  // Markdown with its pictures as files: in a folder the user picks, else side by side as separate downloads.
  const exportMarkdown = async () => {
    try {
      const folder = canSaveToFolder();
      const { base, markdown, pictures } = await convs.exportMarkdownFiles(
        props.summary.id,
        folder ? undefined : (b) => `${b}-`,
      );
      const files = [
        { path: folder ? 'chat.md' : `${base}.md`, blob: new Blob([markdown], { type: 'text/markdown' }) },
        ...pictures,
      ];
      if (!folder) {
        downloadEach(files);
        return;
      }
      const where = await saveToFolder(base, files);
      if (where)
        notices.info(
          `Saved chat.md and ${pictures.length} picture${pictures.length === 1 ? '' : 's'} in “${where}”.`,
        );
    } catch (error) {
      notices.error(`Export failed: ${errorMessage(error)}`);
    }
  };
  const finishRename = (save: boolean) => {
    if (save) void convs.rename(props.summary.id, field.value);
    setRenaming(false);
  };

  return (
    <li class="conversation" classList={{ active: props.active }}>
      <Show
        when={!renaming()}
        fallback={
          <form
            class="rename-form"
            onSubmit={(e) => {
              e.preventDefault();
              finishRename(true);
            }}
          >
            <label class="visually-hidden" for={`rename-${props.summary.id}`}>
              New name
            </label>
            <input
              id={`rename-${props.summary.id}`}
              ref={(el) => {
                field = el;
                queueMicrotask(() => el.select());
              }}
              value={props.summary.title}
              onKeyDown={(e) => {
                if (e.key === 'Escape') {
                  e.stopPropagation();
                  finishRename(false);
                }
              }}
              onBlur={() => finishRename(true)}
            />
          </form>
        }
      >
        <button
          type="button"
          class="conversation-open"
          aria-current={props.active ? 'page' : undefined}
          onClick={() => props.onOpen(props.summary.id)}
        >
          <span class="conversation-title">{props.summary.title}</span>
          <span class="conversation-date">{new Date(props.summary.updatedAt).toLocaleString()}</span>
        </button>
      </Show>
      <Show when={props.active && !renaming()}>
        <div class="conversation-actions">
          <Show
            when={!confirming()}
            fallback={
              <>
                <span class="confirm-text">Delete this chat?</span>
                <button
                  type="button"
                  class="button danger"
                  onClick={() => void convs.remove(props.summary.id)}
                >
                  Delete
                </button>
                <button type="button" class="button" onClick={() => setConfirming(false)}>
                  Keep
                </button>
              </>
            }
          >
            <button
              type="button"
              class="icon-button"
              aria-label="Rename chat"
              title="Rename"
              onClick={() => setRenaming(true)}
            >
              <Icon name="edit" size={16} />
            </button>
            <button
              type="button"
              class="icon-button"
              aria-label="Export chat as JSON"
              title="Export JSON (with images)"
              onClick={exportJson}
            >
              <Icon name="download" size={16} />
              <span class="icon-caption">JSON</span>
            </button>
            <button
              type="button"
              class="icon-button"
              aria-label="Export chat as MD (Markdown)"
              title="Export Markdown (pictures as separate files)"
              onClick={() => void exportMarkdown()}
            >
              <Icon name="download" size={16} />
              <span class="icon-caption">MD</span>
            </button>
            <button
              type="button"
              class="icon-button"
              aria-label="Delete chat"
              title="Delete"
              onClick={() => setConfirming(true)}
            >
              <Icon name="trash" size={16} />
            </button>
          </Show>
        </div>
      </Show>
    </li>
  );
}
