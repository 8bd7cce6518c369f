// Owns what the library tells its engine worker before the first message: the only channel a module Worker has at
// start is its `name`, so the options travel there as JSON after a fixed prefix. Pure; both sides import it.

export interface LibraryWorkerOptions {
  /** Absolute URLs of ORT's runtime glue and WebAssembly binary, when not the ones bundled beside the worker. */
  ortFiles?: { mjs?: string; wasm?: string };
}

const PREFIX = 'llava-engine ';

export function workerName(options: LibraryWorkerOptions): string {
  return PREFIX + JSON.stringify(options);
}

export function workerOptionsOf(name: string): LibraryWorkerOptions {
  if (!name.startsWith(PREFIX)) return {};
  try {
    const parsed = JSON.parse(name.slice(PREFIX.length)) as LibraryWorkerOptions;
    return typeof parsed === 'object' && parsed !== null ? parsed : {};
  } catch {
    return {};
  }
}
