// Owns the converter's one error type: a stable code for scripts and tests, and a message that says what to do.
// Node-free; no I/O here.

/** What went wrong while converting a checkpoint. */
export type ConvertErrorCode =
  /** A pickle checkpoint (pytorch_model*.bin, *.pt, *.pth) and no safetensors: must be re-saved first. */
  | 'pickle-checkpoint'
  /** No checkpoint, config or tokenizer file where one is needed. */
  | 'missing-file'
  /** A safetensors file ends before its header says it does (an interrupted download). */
  | 'truncated'
  /** A source file's bytes differ from its published sha256, also when fetched a second time. */
  | 'integrity'
  /** A safetensors header that is not valid JSON, or whose offsets, shapes and dtypes disagree. */
  | 'bad-header'
  /** A tensor the model needs is in no checkpoint file (or a shard index points at a file that lacks it). */
  | 'missing-tensor'
  /** A tensor has another shape than the config implies. */
  | 'shape-mismatch'
  /** A tensor dtype the converter cannot read (e.g. int8 or fp8). */
  | 'unsupported-dtype'
  /** Not a LLaVA model this converter can express (architecture, projector, rope scaling, activation...). */
  | 'unsupported-architecture'
  /** config.json is unreadable or lacks what the conversion needs. */
  | 'bad-config'
  /** A command-line or API argument is wrong (e.g. a shard size smaller than one layer). */
  | 'bad-argument'
  /** The output folder already exists (pass --force to replace it). */
  | 'output-exists'
  /** An interrupted conversion's record no longer matches what the converter builds (start over). */
  | 'resume-mismatch';

/** An error whose message tells the person converting what to do next. Branch on `code`. */
export class ConvertError extends Error {
  readonly code: ConvertErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(
    code: ConvertErrorCode,
    message: string,
    options?: { cause?: unknown; details?: Record<string, unknown> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ConvertError';
    this.code = code;
    this.details = options?.details;
  }
}

/** True for a {@link ConvertError}, optionally of one code. */
export function isConvertError(value: unknown, code?: ConvertErrorCode): value is ConvertError {
  // By shape, not instanceof: a ConvertError that crossed a worker boundary is a copy of another class.
  if (typeof value !== 'object' || value === null) return false;
  const v = value as { name?: unknown; code?: unknown; message?: unknown };
  return (
    v.name === 'ConvertError' &&
    typeof v.code === 'string' &&
    typeof v.message === 'string' &&
    (code === undefined || v.code === code)
  );
}
