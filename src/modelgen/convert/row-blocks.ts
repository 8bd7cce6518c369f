// Owns streaming one tensor's bytes as blocks of whole rows (its first axis) widened to float32 in one reused
// buffer: each block is handed on as soon as its last byte arrives, then overwritten by the next, and zero rows
// follow for a table padded past its stored rows. So a tensor whose every use works row by row is never held whole.
// No I/O and no knowledge of what the rows become.
import { Float32Widener, WIDENED_DTYPE_BYTES } from './chunk-widener';

/** Takes rows [first, first + count) of `total`, their values in `data` (valid only until the promise settles). */
export type RowBlockSink = (
  first: number,
  count: number,
  total: number,
  data: Float32Array,
) => void | Promise<void>;

export class RowBlockWidener {
  private readonly blockRows: number;
  private readonly rowBytes: number;
  /** Rows handed on so far. */
  private next = 0;
  private widener: Float32Widener | null = null;
  private count = 0;
  /** Source bytes the block being filled still lacks. */
  private left = 0;

  /**
   * `stored` rows of `width` elements of `dtype` arrive; `total` (≥ stored) rows are handed on, the extra ones
   * zero. `block` holds at least one row; each block is as many whole rows as fit in it.
   */
  constructor(
    private readonly dtype: string,
    private readonly stored: number,
    private readonly total: number,
    private readonly width: number,
    private readonly block: Float32Array<ArrayBuffer>,
    private readonly each: RowBlockSink,
  ) {
    const size = WIDENED_DTYPE_BYTES[dtype];
    if (size === undefined) throw new Error(`${dtype} is not widened to float32`);
    this.blockRows = Math.floor(block.length / Math.max(width, 1));
    if (this.blockRows < 1)
      throw new RangeError(`a block of ${block.length} elements holds no row of ${width}`);
    this.rowBytes = width * size;
  }

  /** Widens `piece` into the block, handing on every block it completes (the promise: wait before the next piece). */
  push(piece: Uint8Array): void | Promise<void> {
    for (let at = 0; at < piece.byteLength;) {
      if (this.widener === null) this.start();
      const n = Math.min(piece.byteLength - at, this.left);
      (this.widener as Float32Widener).push(piece.subarray(at, at + n));
      at += n;
      this.left -= n;
      if (this.left > 0) continue;
      (this.widener as Float32Widener).finish();
      this.widener = null;
      const handed = this.hand(this.count);
      const rest = piece.subarray(at);
      if (rest.byteLength === 0) return handed;
      return Promise.resolve(handed).then(() => this.push(rest));
    }
  }

  /** Checks that every stored row arrived, then hands on the zero rows up to `total`. */
  async finish(): Promise<void> {
    if (this.widener !== null || this.next < this.stored)
      throw new Error(`${this.next} of ${this.stored} rows arrived whole`);
    while (this.next < this.total) {
      const count = Math.min(this.blockRows, this.total - this.next);
      this.block.fill(0, 0, count * this.width);
      await this.hand(count);
    }
  }

  private start(): void {
    if (this.next >= this.stored) throw new Error(`more than ${this.stored} rows arrived`);
    this.count = Math.min(this.blockRows, this.stored - this.next);
    this.left = this.count * this.rowBytes;
    this.widener = new Float32Widener(this.dtype, this.block, this.count * this.width);
  }

  private hand(count: number): void | Promise<void> {
    const first = this.next;
    this.next += count;
    return this.each(first, count, this.total, this.block.subarray(0, count * this.width));
  }
}
