// Owns the conversation tree: an edited question or a regenerated answer becomes a sibling of the earlier version,
// which is kept (with everything after it) among the conversation's branches, and switching siblings swaps what is
// shown. `messages` always holds the path shown (and sent to the model); `branches` holds the rest. Pure data: no
// IndexedDB, no UI, no engine.
import type { Conversation, StoredMessage } from './conversations';

/** The message a message follows: its own parentId, or (older messages without one) the one before it on the path. */
export function parentOf(conversation: Conversation, message: StoredMessage): string | null {
  if (message.parentId !== undefined) return message.parentId;
  const at = conversation.messages.indexOf(message);
  return at > 0 ? (conversation.messages[at - 1]?.id ?? null) : null;
}

function allMessages(conversation: Conversation): StoredMessage[] {
  return [...conversation.messages, ...(conversation.branches ?? [])];
}

/** The versions of a message (itself included), oldest first, and where it stands among them. */
export function siblingsOf(conversation: Conversation, messageId: string): { ids: string[]; index: number } {
  const message = allMessages(conversation).find((m) => m.id === messageId);
  if (!message) return { ids: [], index: -1 };
  const parent = parentOf(conversation, message);
  const ids = allMessages(conversation)
    .filter((m) => m.role === message.role && parentOf(conversation, m) === parent)
    .sort((a, b) => a.createdAt - b.createdAt)
    .map((m) => m.id);
  return { ids, index: ids.indexOf(messageId) };
}

/**
 * Moves the path from `index` on into the branches (in place on the draft), each message keeping its parent and
 * when it was last shown, so that switching back brings the same continuation. Returns the ids moved.
 */
export function setAside(draft: Conversation, index: number, now = Date.now()): string[] {
  if (index < 0 || index >= draft.messages.length) return [];
  const parents = draft.messages.map((m) => parentOf(draft, m));
  const moved = draft.messages.splice(index);
  moved.forEach((m, i) => {
    m.parentId = parents[index + i] ?? null;
    m.shownAt = now;
  });
  draft.branches = [...(draft.branches ?? []), ...moved];
  return moved.map((m) => m.id);
}

/**
 * Shows `siblingId` in place of the version of it on the path (in place on the draft): the path from there on is set
 * aside, and the sibling comes back with the continuation shown with it last. Returns the ids whose records changed,
 * or null when `siblingId` is not a version of a message on the path.
 */
export function showSibling(draft: Conversation, siblingId: string, now = Date.now()): string[] | null {
  const branches = draft.branches ?? [];
  const sibling = branches.find((m) => m.id === siblingId);
  if (!sibling) return null;
  const at = draft.messages.findIndex(
    (m) => m.role === sibling.role && parentOf(draft, m) === sibling.parentId,
  );
  if (at < 0) return null;
  const changed = setAside(draft, at, now);
  const rest = draft.branches ?? [];
  let next: StoredMessage | undefined = sibling;
  while (next) {
    const current: StoredMessage = next;
    draft.messages.push(current);
    changed.push(current.id);
    // Of its children, the one shown last (or made last) continues the path.
    next = rest
      .filter((m) => m.parentId === current.id)
      .sort((a, b) => (b.shownAt ?? b.createdAt) - (a.shownAt ?? a.createdAt))[0];
  }
  const onPath = new Set(draft.messages.map((m) => m.id));
  draft.branches = rest.filter((m) => !onPath.has(m.id));
  return changed;
}
