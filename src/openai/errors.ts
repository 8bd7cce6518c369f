// Owns the OpenAI-style errors of the chat adapter: the error class every refusal throws, and the mapping of the
// engine's EngineError codes onto OpenAI's HTTP statuses and error types. It must not validate requests itself.

import { isAbortError } from '../shared/abort';
import { isEngineError, type EngineErrorCode } from '../shared/errors';
import type { OpenAIErrorBody } from './types';

/**
 * A request the adapter refused or could not answer, carrying the body OpenAI's API would send (`error.param` names
 * the offending field, e.g. `messages[1].content[0].image_url.url`) and its HTTP status. Branch on `code`.
 */
export class OpenAIApiError extends Error {
  readonly status: number;
  readonly type: OpenAIErrorBody['error']['type'];
  readonly param: string | null;
  readonly code: string | null;

  constructor(status: number, body: OpenAIErrorBody['error'], options?: { cause?: unknown }) {
    super(body.message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'OpenAIApiError';
    this.status = status;
    this.type = body.type;
    this.param = body.param;
    this.code = body.code;
  }

  /** The JSON body of the HTTP error response. */
  toJSON(): OpenAIErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

/** True for an {@link OpenAIApiError}, whichever copy of this module made it (branch on shape, not class). */
export function isOpenAIApiError(value: unknown): value is OpenAIApiError {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { name?: unknown }).name === 'OpenAIApiError' &&
    typeof (value as { status?: unknown }).status === 'number'
  );
}

/** A 400 for a field the request got wrong (`code`: OpenAI's, e.g. 'unsupported_parameter', 'invalid_type'). */
export function invalidRequest(param: string | null, code: string, message: string): OpenAIApiError {
  return new OpenAIApiError(400, { message, type: 'invalid_request_error', param, code });
}

/** How each engine failure reads over the OpenAI API. */
const ENGINE_ERRORS: Record<
  EngineErrorCode,
  { status: number; type: OpenAIErrorBody['error']['type']; param: string | null; code: string }
> = {
  'context-overflow': {
    status: 400,
    type: 'invalid_request_error',
    param: 'messages',
    code: 'context_length_exceeded',
  },
  'bad-image': { status: 400, type: 'invalid_request_error', param: 'messages', code: 'invalid_image' },
  'model-not-loaded': { status: 404, type: 'not_found_error', param: 'model', code: 'model_not_found' },
  unsupported: { status: 400, type: 'invalid_request_error', param: null, code: 'unsupported' },
  'webgpu-unavailable': { status: 503, type: 'server_error', param: null, code: 'webgpu_unavailable' },
  'download-failed': { status: 502, type: 'server_error', param: null, code: 'download_failed' },
  integrity: { status: 502, type: 'server_error', param: null, code: 'integrity' },
  'quota-exceeded': { status: 507, type: 'server_error', param: null, code: 'quota_exceeded' },
  'device-lost': { status: 503, type: 'server_error', param: null, code: 'device_lost' },
  'bad-model': { status: 500, type: 'server_error', param: null, code: 'bad_model' },
  aborted: { status: 499, type: 'server_error', param: null, code: 'aborted' },
  'inference-failed': { status: 500, type: 'server_error', param: null, code: 'inference_failed' },
};

/**
 * The OpenAI-style error for anything a call threw. Aborts are not errors to report: callers check
 * {@link isAbortError} first and rethrow those.
 */
export function toOpenAIError(error: unknown): OpenAIApiError {
  if (isOpenAIApiError(error)) return error;
  if (isEngineError(error)) {
    const known = ENGINE_ERRORS[error.code];
    return new OpenAIApiError(
      known.status,
      { message: error.message, type: known.type, param: known.param, code: known.code },
      { cause: error },
    );
  }
  if (isAbortError(error))
    return new OpenAIApiError(499, {
      message: 'Request aborted.',
      type: 'server_error',
      param: null,
      code: 'aborted',
    });
  const message = error instanceof Error ? error.message : String(error);
  return new OpenAIApiError(
    500,
    { message: `The engine failed: ${message}`, type: 'server_error', param: null, code: 'inference_failed' },
    { cause: error },
  );
}
