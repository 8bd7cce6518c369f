// Owns the shapes of GPU faults as the worker passes them around: a lost device and an uncaptured device error, and
// what the engine host needs to hear about them. Types only, with no WebGPU types, so Node tests can supply them.

/** Why the GPU device went away, as `device.lost` said. */
export interface DeviceLoss {
  reason: string;
  message: string;
}

/** An error the device raised outside any error scope (ORT pushes none): a failed allocation or an invalid command. */
export interface GpuError {
  kind: 'validation' | 'out-of-memory' | 'internal' | 'unknown';
  message: string;
}

/** Where GPU faults come from: the backend selector in the worker, a stand-in in Node tests of the host. */
export interface GpuFaultSource {
  /** Calls `listener` when the current device is lost (not when we replace it ourselves). Returns an unsubscribe. */
  onDeviceLost(listener: (loss: DeviceLoss) => void): () => void;
  /** Calls `listener` for each uncaptured error of the current device. Returns an unsubscribe. */
  onUncapturedError(listener: (error: GpuError) => void): () => void;
  /**
   * Resolves once the current device has finished the work submitted so far, and the errors that work raised have
   * been dispatched (WebGPU reports them asynchronously). Resolves at once without a device.
   */
  settle(): Promise<void>;
}
