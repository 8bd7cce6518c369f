// Owns the one error type that crosses every boundary (engine, worker, store, UI). No DOM, no worker globals.

import { isAbortError } from './abort';

/** Every failure a user can meet, as a stable code the UI branches on. */
export type EngineErrorCode =
  | 'webgpu-unavailable'
  | 'download-failed'
  | 'integrity'
  | 'quota-exceeded'
  | 'model-not-loaded'
  | 'device-lost'
  | 'bad-image'
  | 'bad-model'
  | 'context-overflow'
  | 'aborted'
  | 'inference-failed'
  | 'unsupported';

/** Serialisable shape of an {@link EngineError}, used by the comlink transfer handler. */
export interface EngineErrorData {
  code: EngineErrorCode;
  message: string;
  details?: Record<string, unknown>;
}

/**
 * An error whose `message` tells the user what to do and whose `code` tells code what happened.
 * Branch on `code`, never on `instanceof` (the worker boundary recreates it) or on the message text.
 */
export class EngineError extends Error {
  readonly code: EngineErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(
    code: EngineErrorCode,
    message: string,
    options?: { cause?: unknown; details?: Record<string, unknown> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'EngineError';
    this.code = code;
    this.details = options?.details;
  }

  toJSON(): EngineErrorData {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }

  static fromJSON(data: EngineErrorData): EngineError {
    return new EngineError(
      data.code,
      data.message,
      data.details === undefined ? undefined : { details: data.details },
    );
  }
}

/** True for an EngineError or anything that carries the same shape (e.g. after a structured clone). */
export function isEngineError(value: unknown): value is EngineError {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { code?: unknown }).code === 'string' &&
    typeof (value as { message?: unknown }).message === 'string' &&
    (value as { name?: unknown }).name === 'EngineError'
  );
}

/**
 * The words to show a person for anything thrown: an EngineError's (or any error's) own message, else the value as
 * text. Only for display; code branches on `code`.
 */
export function errorMessage(error: unknown): string {
  if (isEngineError(error) || error instanceof Error) return error.message;
  return String(error);
}

/**
 * What a failed step rethrows: an abort or an EngineError as it is (it already says what went wrong), anything else
 * as an EngineError with `code` and `message`, the original kept as its cause.
 */
export function asEngineError(error: unknown, code: EngineErrorCode, message: string): unknown {
  if (isAbortError(error) || isEngineError(error)) return error;
  return new EngineError(code, message, { cause: error });
}
