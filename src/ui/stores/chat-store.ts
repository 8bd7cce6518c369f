// Owns a chat turn: building the request from the open conversation, streaming the answer into it, stop,
// regenerate and edit-and-resend (each keeping the earlier version as a branch), switching versions, and working ahead on a draft with the request its send would make. It reaches the
// engine through the engine store and storage through the conversations store; it never touches either directly.
import { createSignal } from 'solid-js';
import { unwrap } from 'solid-js/store';
import { isAbortError } from '../../shared/abort';
import { errorMessage, isEngineError } from '../../shared/errors';
import type { ChatMessage, ChatRequest, ContentPart, GenerationEvent } from '../../shared/protocol';
import { parentOf, setAside, showSibling, siblingsOf } from '../../store/branches';
import type { Conversation, StoredMessage } from '../../store/conversations';
import { newId } from '../lib/ids';
import { tooManyPictures } from '../lib/picture-limit';
import type { Attachment } from './composer-store';
import type { ConversationsStore } from './conversations-store';
import type { EngineStore } from './engine-store';
import type { SettingsStore } from './settings-store';
import { storeContext } from './store-context';

export interface ChatDeps {
  engine: EngineStore;
  conversations: ConversationsStore;
  settings: SettingsStore;
  /** Makes sure a model is loaded (loading the chosen one if needed); else says why none is. */
  ensureModel: () => Promise<true | { code: string; message: string }>;
}

/** Where a draft would be worked ahead on: what it would be sent into, so that a change there makes it stale. */
export interface DraftTarget {
  conversationId: string;
  /** Messages already in that conversation. */
  turns: number;
  modelId: string;
}

/** A user message as the engine reads it: its pictures, then its words. */
function userContent(images: readonly Blob[], text: string): ContentPart[] {
  const parts: ContentPart[] = images.map((image) => ({ type: 'image', image }));
  parts.push({ type: 'text', text });
  return parts;
}

function errorText(error: unknown): { code: string; message: string } {
  if (isEngineError(error)) return { code: error.code, message: error.message };
  return { code: 'inference-failed', message: errorMessage(error) };
}

export function createChatStore(deps: ChatDeps) {
  const { engine, conversations: convs, settings } = deps;
  const [generating, setGenerating] = createSignal<string | null>(null);
  let controller: AbortController | undefined;
  let running: Promise<void> = Promise.resolve();

  /** Pictures in the open conversation's user messages before `upTo` (all of them by default). */
  function picturesBefore(upTo = convs.current.messages.length): number {
    return convs.current.messages
      .slice(0, upTo)
      .reduce((n, m) => n + (m.role === 'user' ? m.imageIds.length : 0), 0);
  }

  /**
   * Why `adding` pictures cannot be sent in the open conversation with the loaded model, or null (also when no
   * model is loaded yet: the answer checks again once it is).
   */
  function pictureProblem(adding: number): string | null {
    const model = engine.status()?.model;
    return model ? tooManyPictures(model.maxImages, picturesBefore(), adding) : null;
  }

  /** The request history: every message before `upTo`, answers that failed left out. */
  async function buildMessages(conv: Conversation, upTo: number): Promise<ChatMessage[]> {
    const out: ChatMessage[] = [];
    const system = conv.systemPrompt ?? settings.settings.systemPrompt;
    if (system.trim() !== '') out.push({ role: 'system', content: system });
    for (const m of conv.messages.slice(0, upTo)) {
      if (m.role === 'assistant') {
        if (m.status === 'error' && m.text === '') continue;
        // A plain copy: the store's proxies cannot be posted to the worker.
        const tokens = m.tokens && { model: m.tokens.model, ids: [...unwrap(m.tokens).ids] };
        out.push({ role: 'assistant', content: m.text, ...(tokens ? { tokens } : {}) });
        continue;
      }
      const blobs = (await convs.imageViews(m.imageIds)).map((img) => img.blob);
      out.push({ role: 'user', content: userContent(blobs, m.text) });
    }
    return out;
  }

  /**
   * The request for `messages` in the open conversation under the current settings. Answers and work ahead share it:
   * the engine only reuses a prepared draft when the template, conversation and history match what is then sent.
   */
  function chatRequest(messages: ChatMessage[]): ChatRequest {
    const s = settings.settings;
    return {
      messages,
      sampling: { temperature: s.temperature, topP: s.topP, maxNewTokens: s.maxNewTokens },
      template: convs.current.template ?? s.template,
      conversationId: convs.current.id,
      kvCacheBudgetBytes: s.kvCacheMiB * 1024 * 1024,
      contextOverflow: 'drop-oldest-turns',
    };
  }

  /** Streams an answer into the (already stored, empty) assistant message `messageId`. */
  function run(messageId: string): Promise<void> {
    running = answer(messageId);
    return running;
  }

  async function answer(messageId: string): Promise<void> {
    const abort = new AbortController();
    controller = abort;
    setGenerating(messageId);
    try {
      const loaded = await deps.ensureModel();
      if (loaded !== true || abort.signal.aborted) {
        await convs.endStream(messageId, (c) => {
          const m = c.messages.find((x) => x.id === messageId);
          if (!m) return;
          m.status = abort.signal.aborted ? 'stopped' : 'error';
          if (!abort.signal.aborted && loaded !== true) m.error = loaded;
        });
        return;
      }
      if (await refusedForPictures(messageId)) return;
      await stream(messageId, abort);
      // The backend can change under a chat (device loss → reload, maybe on WASM): show what runs now.
      void engine.refresh().catch(() => undefined);
    } finally {
      controller = undefined;
      setGenerating(null);
    }
  }

  /**
   * The model was only loaded for this answer, so its picture limit was unknown when the message was sent: when the
   * question's pictures do not fit, say so on the answer instead of sending a prompt the engine must refuse.
   */
  async function refusedForPictures(messageId: string): Promise<boolean> {
    const model = engine.status()?.model;
    const index = convs.current.messages.findIndex((m) => m.id === messageId);
    const question = convs.current.messages.slice(0, index).findLast((m) => m.role === 'user');
    if (!model || !question) return false;
    const at = convs.current.messages.indexOf(question);
    const problem = tooManyPictures(model.maxImages, picturesBefore(at), question.imageIds.length, true);
    if (problem === null) return false;
    await convs.endStream(messageId, (c) => {
      const m = c.messages.find((x) => x.id === messageId);
      if (!m) return;
      m.status = 'error';
      m.error = { code: 'too-many-images', message: problem };
    });
    return true;
  }

  async function stream(messageId: string, abort: AbortController): Promise<void> {
    const index = convs.current.messages.findIndex((m) => m.id === messageId);
    const messages = await buildMessages(convs.current, index);
    let text = '';
    const modelId = engine.status()?.model?.id;
    try {
      const result = await engine.engine().chat(chatRequest(messages), {
        signal: abort.signal,
        onEvent: (event: GenerationEvent) => {
          // device-lost also arrives as an engine notice, which the engine store handles.
          if (event.kind === 'token') {
            text += event.text;
            void convs.streamText(messageId, text);
          }
        },
      });
      await convs.endStream(messageId, (c) => {
        const m = c.messages.find((x) => x.id === messageId);
        if (!m) return;
        m.text = result.message.content;
        m.usage = result.usage;
        m.finishReason = result.finishReason;
        m.status = 'done';
        if (modelId) m.modelId = modelId;
        if (result.message.tokens) m.tokens = result.message.tokens;
      });
    } catch (error) {
      const stopped = isAbortError(error);
      if (!stopped && isEngineError(error) && error.code === 'device-lost') engine.markDeviceLost();
      await convs.endStream(messageId, (c) => {
        const m = c.messages.find((x) => x.id === messageId);
        if (!m) return;
        m.status = stopped ? 'stopped' : 'error';
        if (!stopped) m.error = errorText(error);
      });
    }
  }

  function assistantMessage(parentId: string): StoredMessage {
    return {
      id: newId('m'),
      role: 'assistant',
      text: '',
      imageIds: [],
      createdAt: Date.now(),
      status: 'streaming',
      parentId,
    };
  }

  /** Sends a user message with pictures and streams the answer. */
  async function send(text: string, images: Attachment[]): Promise<void> {
    if (generating()) return;
    const problem = pictureProblem(images.length);
    if (problem !== null) throw new Error(problem);
    const imageIds = await convs.addImages(
      images.map((a) => ({ name: a.name, blob: a.blob, width: a.width, height: a.height })),
    );
    const user: StoredMessage = {
      id: newId('m'),
      role: 'user',
      text,
      imageIds,
      createdAt: Date.now(),
      parentId: convs.current.messages.at(-1)?.id ?? null,
    };
    const next = assistantMessage(user.id);
    const first = convs.current.messages.length === 0;
    await convs.change((c) => {
      if (first) {
        c.title = convs.titleFrom(text, images[0]?.name ?? 'New chat');
        if (settings.settings.systemPrompt.trim() !== '') c.systemPrompt = settings.settings.systemPrompt;
        c.template = settings.settings.template;
      }
      c.messages.push(user, next);
    });
    for (const a of images) URL.revokeObjectURL(a.url);
    await run(next.id);
  }

  /**
   * Where a draft of `text` with `pictures` would be worked ahead on now, or null when it should not be: the setting
   * is off, no model is loaded, an answer is on its way, the draft is empty or its pictures would be refused, or the
   * conversation does not end with a finished answer. Reactive: an effect calling it reruns when any of that changes.
   */
  function draftTarget(text: string, pictures: number): DraftTarget | null {
    if (text.trim() === '' && pictures === 0) return null;
    if (!settings.settings.workAhead || generating() !== null) return null;
    const modelId = engine.status()?.model?.id;
    if (!modelId || pictureProblem(pictures) !== null) return null;
    const { id, messages } = convs.current;
    const last = messages[messages.length - 1];
    // A question with no answer after it, or an answer still being stored, is not what a send would extend.
    if (last && (last.role === 'user' || last.status === 'streaming')) return null;
    return { conversationId: id, turns: messages.length, modelId };
  }

  /**
   * Works ahead on the draft: has the engine read the request `send` would make of it (its pictures encoded, the
   * prompt prefilled), so that its answer starts sooner. Best effort: never rejects, does nothing when
   * `draftTarget` says no, and stops early when `signal` is aborted.
   */
  async function prepareDraft(text: string, images: Attachment[], signal: AbortSignal): Promise<void> {
    const target = draftTarget(text, images.length);
    if (!target) return;
    try {
      const history = await buildMessages(convs.current, target.turns);
      // The conversation may have changed while its pictures were read: that request would be for nothing.
      if (signal.aborted || convs.current.id !== target.conversationId) return;
      const blobs = images.map((a) => a.blob);
      const draft: ChatMessage = { role: 'user', content: userContent(blobs, text) };
      await engine.engine().prepare(chatRequest([...history, draft]), { signal });
    } catch {
      // Only a head start is lost: the answer reads whatever was not prepared itself.
    }
  }

  function stop(): void {
    controller?.abort();
    // A model still loading for this answer is cancelled too.
    engine.cancelLoad();
  }

  /** Stops any answer in progress and waits until what was streamed is stored (before switching conversations). */
  async function settle(): Promise<void> {
    stop();
    await running;
  }

  /** Answers the last user message again; the earlier answer is kept as another version of it. */
  async function regenerate(): Promise<void> {
    if (generating()) return;
    const msgs = convs.current.messages;
    const lastUser = msgs.map((m) => m.role).lastIndexOf('user');
    const question = msgs[lastUser];
    if (!question) return;
    const next = assistantMessage(question.id);
    await convs.change((c) => {
      setAside(c, lastUser + 1);
      c.messages.push(next);
    });
    await run(next.id);
  }

  /** Asks again with a user message's text changed; the earlier question and what followed it are kept as a branch. */
  async function editAndResend(messageId: string, text: string): Promise<void> {
    if (generating()) return;
    const at = convs.current.messages.findIndex((m) => m.id === messageId);
    const old = convs.current.messages[at];
    if (!old || old.role !== 'user') return;
    const edited: StoredMessage = {
      id: newId('m'),
      role: 'user',
      text,
      imageIds: [...old.imageIds],
      createdAt: Date.now(),
      parentId: parentOf(convs.current, old),
    };
    const next = assistantMessage(edited.id);
    await convs.change((c) => {
      setAside(c, at);
      c.messages.push(edited, next);
    });
    await run(next.id);
  }

  /** Shows the previous (-1) or next (+1) version of a message on the path, with what followed it then. */
  async function switchVersion(messageId: string, step: -1 | 1): Promise<void> {
    if (generating()) return;
    const { ids, index } = siblingsOf(convs.current, messageId);
    const target = ids[index + step];
    if (index < 0 || target === undefined) return;
    await convs.change((c) => {
      showSibling(c, target);
    });
  }

  return {
    generating,
    pictureProblem,
    send,
    draftTarget,
    prepareDraft,
    stop,
    settle,
    regenerate,
    editAndResend,
    switchVersion,
  };
}

export type ChatStore = ReturnType<typeof createChatStore>;

export const [ChatContext, useChat] = storeContext<ChatStore>('useChat', 'ChatContext');
