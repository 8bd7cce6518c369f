// Owns writing several files the user asked for: into a folder they pick (File System Access, Chrome and Edge), else
// as separate downloads. It never reads the user's files and writes nowhere but where they chose.

import { saveBlob } from './download';

export interface FileToSave {
  /** Path inside the folder, "/" between parts ("images/01-cat.png"). */
  path: string;
  blob: Blob;
}

type DirectoryPicker = (options?: {
  id?: string;
  mode?: 'read' | 'readwrite';
}) => Promise<FileSystemDirectoryHandle>;

/** The browser's folder picker, where it has one. */
function directoryPicker(): DirectoryPicker | undefined {
  const picker = (window as unknown as { showDirectoryPicker?: DirectoryPicker }).showDirectoryPicker;
  return typeof picker === 'function' ? picker.bind(window) : undefined;
}

/** Whether files can go into a folder the user picks (else each file is its own download). */
export function canSaveToFolder(): boolean {
  return directoryPicker() !== undefined;
}

async function writeFile(root: FileSystemDirectoryHandle, file: FileToSave): Promise<void> {
  const parts = file.path.split('/').filter(Boolean);
  const name = parts.pop();
  if (!name) return;
  let dir = root;
  for (const part of parts) dir = await dir.getDirectoryHandle(part, { create: true });
  const writable = await (await dir.getFileHandle(name, { create: true })).createWritable();
  try {
    await writable.write(file.blob);
  } finally {
    await writable.close();
  }
}

/**
 * Asks for a folder and writes the files into a new folder `folderName` inside it; resolves with that folder's name,
 * or null when the user cancelled the picker. Rejects when writing failed (the folder may then hold some files).
 */
export async function saveToFolder(folderName: string, files: FileToSave[]): Promise<string | null> {
  const picker = directoryPicker();
  if (!picker) throw new Error('This browser cannot write into a folder.');
  let root: FileSystemDirectoryHandle;
  try {
    root = await picker({ id: 'chat-export', mode: 'readwrite' });
  } catch (error) {
    if ((error as { name?: unknown } | null)?.name === 'AbortError') return null;
    throw error;
  }
  const folder = await root.getDirectoryHandle(folderName, { create: true });
  for (const file of files) await writeFile(folder, file);
  return `${root.name}/${folderName}`;
}

/** Each file as its own download, side by side (their paths must not contain folders). */
export function downloadEach(files: FileToSave[]): void {
  for (const file of files) saveBlob(file.blob, file.path);
}
