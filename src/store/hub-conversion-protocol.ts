// Owns the messages between a page and the conversion worker (workers/convert.worker.ts). Types only.
import type { ConvertProgress } from '../modelgen/convert/convert-core';
import type { HubConversionOptions } from './hub-conversion';

export type ConvertWorkerRequest =
  | {
      type: 'convert';
      options: Omit<
        HubConversionOptions,
        'signal' | 'onProgress' | 'onBytes' | 'onStored' | 'store' | 'storage' | 'fetch'
      >;
    }
  /** After 'done': read the stored model `id` back against its manifest's sha256 ('checked' or 'error'). */
  | { type: 'check'; id: string }
  | { type: 'cancel' };

export type ConvertWorkerEvent =
  | { type: 'progress'; event: ConvertProgress }
  /** Source bytes fetched (the plan's header reads and small files too). */
  | { type: 'bytes'; path: string; bytes: number }
  /** Output bytes put into the weight store. */
  | { type: 'stored'; path: string; bytes: number }
  /** The stored model read back against its manifest's sha256: bytes checked of all. */
  | { type: 'check'; loaded: number; total: number }
  | { type: 'done'; id: string; files: number; bytes: number }
  | { type: 'checked'; id: string }
  | { type: 'error'; name: string; code: string | null; message: string };
