// Owns running only the latest of a stream of jobs, once things have been quiet for a while: each new schedule
// resets the wait and aborts the job before it, started or not. No Solid, no engine: a job says what it does.

/** Work that stops early (rejecting, typically with an AbortError) once its signal is aborted. */
export type AbortableJob = (signal: AbortSignal) => Promise<void>;

export interface DebouncedJob {
  /** Runs `job` after `delayMs` without a newer schedule; aborts whatever was scheduled or running before. */
  schedule(job: AbortableJob): void;
  /** Drops the waiting job and aborts the running one. */
  cancel(): void;
  /** Cancels, and ignores every later schedule (the owner is gone). */
  dispose(): void;
}

export function createDebouncedJob(delayMs: number): DebouncedJob {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let controller: AbortController | undefined;
  let disposed = false;

  function cancel(): void {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    controller?.abort();
    controller = undefined;
  }

  function schedule(job: AbortableJob): void {
    cancel();
    if (disposed) return;
    const own = new AbortController();
    controller = own;
    timer = setTimeout(() => {
      timer = undefined;
      // A superseded job rejects by design (it was aborted); the owner never waits on it, so nothing is lost.
      void job(own.signal).catch(() => undefined);
    }, delayMs);
  }

  function dispose(): void {
    disposed = true;
    cancel();
  }

  return { schedule, cancel, dispose };
}
