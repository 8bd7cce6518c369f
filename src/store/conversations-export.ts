// Owns the conversation file formats (JSON with images as data URLs; Markdown with pictures as separate files) and
// validation of imported files.
// Pure data conversion: no IndexedDB, no DOM beyond Blob.
import type { Conversation, StoredImage, StoredMessage } from './conversations';

export const EXPORT_FORMAT = 'llava-browser-conversations';
export const EXPORT_VERSION = 1;

interface ExportedImage {
  id: string;
  name: string;
  width: number;
  height: number;
  dataUrl: string;
}

export interface ExportFile {
  format: typeof EXPORT_FORMAT;
  version: typeof EXPORT_VERSION;
  exportedAt: string;
  conversations: Conversation[];
  images: ExportedImage[];
}

/** Raised for a file that is not a conversation export; the message names what is wrong. */
export class ImportFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImportFormatError';
  }
}

const IMAGE_DATA_URL = /^data:(image\/(?:png|jpeg|webp|gif|bmp|avif));base64,([A-Za-z0-9+/]*={0,2})$/;

/** base64 of the blob's bytes, in slices so that big images do not overflow the argument stack. */
export async function blobToDataUrl(blob: Blob): Promise<string> {
  const bytes = new Uint8Array(await blob.arrayBuffer());
  let binary = '';
  const slice = 0x8000;
  for (let i = 0; i < bytes.length; i += slice) {
    binary += String.fromCharCode(...bytes.subarray(i, i + slice));
  }
  return `data:${blob.type || 'application/octet-stream'};base64,${btoa(binary)}`;
}

/** Decodes an image data URL; throws ImportFormatError for anything else (no network, no `fetch(dataUrl)`). */
export function dataUrlToBlob(dataUrl: string): Blob {
  const match = IMAGE_DATA_URL.exec(dataUrl);
  if (!match || match[1] === undefined || match[2] === undefined) {
    throw new ImportFormatError(
      'An image in the file is not a base64 PNG, JPEG, WebP, GIF, BMP or AVIF data URL.',
    );
  }
  const binary = atob(match[2]);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return new Blob([bytes], { type: match[1] });
}

/** The JSON export of some conversations with every image they reference inlined. */
export async function exportJson(conversations: Conversation[], images: StoredImage[]): Promise<string> {
  const exported: ExportedImage[] = [];
  for (const img of images) {
    exported.push({
      id: img.id,
      name: img.name,
      width: img.width,
      height: img.height,
      dataUrl: await blobToDataUrl(img.blob),
    });
  }
  const file: ExportFile = {
    format: EXPORT_FORMAT,
    version: EXPORT_VERSION,
    exportedAt: new Date().toISOString(),
    conversations,
    images: exported,
  };
  return JSON.stringify(file, null, 2);
}

/** A Markdown transcript and the pictures it links to, as files to write beside it. */
export interface MarkdownExport {
  markdown: string;
  /** Each picture once, at the relative path the Markdown links to. */
  pictures: { path: string; blob: Blob }[];
}

const PICTURE_EXTENSIONS: Record<string, string> = {
  'image/png': 'png',
  'image/jpeg': 'jpg',
  'image/webp': 'webp',
  'image/gif': 'gif',
  'image/bmp': 'bmp',
  'image/avif': 'avif',
};

/** A file name safe on every system: letters, digits, dot, dash and underscore; never empty. */
export function safeFileName(name: string, fallback: string): string {
  const clean = name
    .normalize('NFKD')
    .replace(/[^\w.-]+/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '')
    .slice(0, 60);
  return clean || fallback;
}

/**
 * A readable Markdown transcript whose pictures are separate files (`prefix` + "01-name.png", e.g. under "images/"),
 * linked by relative path, so the text stays small and the pictures open in any viewer.
 */
export function exportMarkdown(
  conversation: Conversation,
  images: StoredImage[],
  prefix = 'images/',
): MarkdownExport {
  const byId = new Map(images.map((i) => [i.id, i]));
  const paths = new Map<string, string>();
  const pictures: MarkdownExport['pictures'] = [];
  const pathOf = (img: StoredImage): string => {
    const known = paths.get(img.id);
    if (known) return known;
    const ext = PICTURE_EXTENSIONS[img.blob.type] ?? 'bin';
    const stem = safeFileName(img.name.replace(/\.[^.]*$/, ''), 'picture');
    const path = `${prefix}${String(pictures.length + 1).padStart(2, '0')}-${stem}.${ext}`;
    paths.set(img.id, path);
    pictures.push({ path, blob: img.blob });
    return path;
  };
  const out: string[] = [`# ${conversation.title}`, ''];
  if (conversation.systemPrompt)
    out.push(`> System: ${conversation.systemPrompt.replace(/\n/g, '\n> ')}`, '');
  for (const m of conversation.messages) {
    out.push(m.role === 'user' ? '## You' : '## Assistant', '');
    for (const id of m.imageIds) {
      const img = byId.get(id);
      // safeFileName leaves no space or parenthesis, so the plain path is one link target in every viewer.
      if (img) out.push(`![${img.name.replace(/[[\]]/g, '')}](${pathOf(img)})`, '');
    }
    out.push(m.text, '');
    if (m.usage) {
      out.push(
        `_${m.usage.completionTokens} tokens · first token ${Math.round(m.usage.timeToFirstTokenMs)} ms · ${m.usage.decodeTokensPerS.toFixed(1)} tokens/s_`,
        '',
      );
    }
  }
  return { markdown: out.join('\n'), pictures };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown, what: string): string {
  if (typeof v !== 'string') throw new ImportFormatError(`${what} is missing or not text.`);
  return v;
}

function num(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v))
    throw new ImportFormatError(`${what} is missing or not a number.`);
  return v;
}

function parseMessage(v: unknown, where: string): StoredMessage {
  if (!isRecord(v)) throw new ImportFormatError(`${where} is not a message.`);
  const role = v.role;
  if (role !== 'user' && role !== 'assistant')
    throw new ImportFormatError(`${where} has role ${String(role)}.`);
  const imageIds = Array.isArray(v.imageIds) ? v.imageIds.map((x, i) => str(x, `${where} image ${i}`)) : [];
  const message: StoredMessage = {
    id: str(v.id, `${where} id`),
    role,
    text: str(v.text, `${where} text`),
    imageIds,
    createdAt: typeof v.createdAt === 'number' ? v.createdAt : Date.now(),
  };
  const status = v.status;
  if (status === 'done' || status === 'stopped' || status === 'error' || status === 'interrupted')
    message.status = status;
  // An answer that was streaming when exported cannot still be streaming on import.
  if (status === 'streaming') message.status = 'interrupted';
  if (isRecord(v.usage)) {
    const u = v.usage;
    message.usage = {
      promptTokens: num(u.promptTokens, `${where} usage`),
      completionTokens: num(u.completionTokens, `${where} usage`),
      timeToFirstTokenMs: num(u.timeToFirstTokenMs, `${where} usage`),
      decodeTokensPerS: num(u.decodeTokensPerS, `${where} usage`),
    };
    for (const key of ['reusedPromptTokens', 'droppedMessages', 'contextLength', 'maxNewTokens'] as const) {
      const value = u[key];
      if (typeof value === 'number' && Number.isFinite(value)) message.usage[key] = value;
    }
  }
  if (v.finishReason === 'stop' || v.finishReason === 'length' || v.finishReason === 'abort') {
    message.finishReason = v.finishReason;
  }
  if (isRecord(v.error)) {
    message.error = {
      code: str(v.error.code, `${where} error code`),
      message: str(v.error.message, `${where} error`),
    };
  }
  if (typeof v.modelId === 'string') message.modelId = v.modelId;
  if (typeof v.parentId === 'string' || v.parentId === null) message.parentId = v.parentId;
  if (typeof v.shownAt === 'number' && Number.isFinite(v.shownAt)) message.shownAt = v.shownAt;
  const tokens = v.tokens;
  if (
    isRecord(tokens) &&
    typeof tokens.model === 'string' &&
    Array.isArray(tokens.ids) &&
    tokens.ids.every((id) => Number.isInteger(id) && (id as number) >= 0)
  ) {
    message.tokens = { model: tokens.model, ids: tokens.ids as number[] };
  }
  return message;
}

function parseConversation(v: unknown, index: number): Conversation {
  const where = `Conversation ${index + 1}`;
  if (!isRecord(v)) throw new ImportFormatError(`${where} is not an object.`);
  if (!Array.isArray(v.messages)) throw new ImportFormatError(`${where} has no messages list.`);
  const conversation: Conversation = {
    id: str(v.id, `${where} id`),
    title: str(v.title, `${where} title`),
    createdAt: typeof v.createdAt === 'number' ? v.createdAt : Date.now(),
    updatedAt: typeof v.updatedAt === 'number' ? v.updatedAt : Date.now(),
    messages: v.messages.map((m, i) => parseMessage(m, `${where}, message ${i + 1},`)),
  };
  if (Array.isArray(v.branches) && v.branches.length > 0) {
    conversation.branches = v.branches.map((m, i) => parseMessage(m, `${where}, earlier version ${i + 1},`));
  }
  if (typeof v.systemPrompt === 'string') conversation.systemPrompt = v.systemPrompt;
  if (v.template === 'model' || v.template === 'vicuna_v1' || v.template === 'llava_v1')
    conversation.template = v.template;
  return conversation;
}

/**
 * Parses and checks an exported file. Throws ImportFormatError naming the first problem.
 * Images become Blobs; nothing is fetched.
 */
export function parseExport(text: string): { conversations: Conversation[]; images: StoredImage[] } {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new ImportFormatError('The file is not valid JSON.');
  }
  if (!isRecord(data) || data.format !== EXPORT_FORMAT) {
    throw new ImportFormatError('The file is not a conversation export from this app.');
  }
  if (data.version !== EXPORT_VERSION)
    throw new ImportFormatError(`Unsupported export version ${String(data.version)}.`);
  if (!Array.isArray(data.conversations)) throw new ImportFormatError('The file has no conversations list.');
  const conversations = data.conversations.map(parseConversation);
  const rawImages = Array.isArray(data.images) ? data.images : [];
  const images = rawImages.map((v, i): StoredImage => {
    if (!isRecord(v)) throw new ImportFormatError(`Image ${i + 1} is not an object.`);
    return {
      id: str(v.id, `Image ${i + 1} id`),
      name: str(v.name, `Image ${i + 1} name`),
      width: num(v.width, `Image ${i + 1} width`),
      height: num(v.height, `Image ${i + 1} height`),
      blob: dataUrlToBlob(str(v.dataUrl, `Image ${i + 1} data`)),
    };
  });
  return { conversations, images };
}
