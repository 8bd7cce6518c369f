// Owns the messages between a page and the conversion worker (workers/convert.worker.ts). Types only.
import type { ConvertProgress } from '../modelgen/convert/convert-core';
import type { HubConversionOptions } from './hub-conversion';

export type ConvertWorkerRequest =
  | {
      type: 'convert';
      options: Omit<
        HubConversionOptions,
        'signal' | 'onProgress' | 'onBytes' | 'store' | 'storage' | 'fetch'
      >;
    }
  | { type: 'cancel' };

export type ConvertWorkerEvent =
  | { type: 'progress'; event: ConvertProgress }
  | { type: 'bytes'; path: string; bytes: number }
  | { type: 'done'; id: string; files: number; bytes: number }
  | { type: 'error'; name: string; code: string | null; message: string };
