// Owns widening one safetensors tensor's little-endian bytes to float32 as they arrive in pieces of any size (a
// network chunk may end inside an element): F16/BF16/F32 exactly, F64 rounded, into a float32 array the caller
// sized. Between pieces it keeps at most one split element, so the tensor's source bytes never exist whole. No I/O,
// no knowledge of where the pieces come from.
import { halfToFloat32 } from '../../shared/float16';
import { bfloat16ToFloat32 } from './float-bits';

/** The safetensors dtypes the converter widens to float32, with their bytes per element. */
export const WIDENED_DTYPE_BYTES: Readonly<Record<string, number>> = { F32: 4, F16: 2, BF16: 2, F64: 8 };

/** Widens `count` elements of `dtype` into `out` (from its start), piece by piece, in order. */
export class Float32Widener {
  private readonly size: number;
  /** Elements written so far. */
  private filled = 0;
  /** The bytes of an element a piece ended inside (its own buffer, so aligned). */
  private readonly carry: Uint8Array;
  private carried = 0;

  constructor(
    private readonly dtype: string,
    private readonly out: Float32Array<ArrayBuffer>,
    private readonly count: number,
  ) {
    const size = WIDENED_DTYPE_BYTES[dtype];
    if (size === undefined) throw new Error(`${dtype} is not widened to float32`);
    if (count > out.length) throw new RangeError(`${count} elements do not fit in ${out.length}`);
    this.size = size;
    this.carry = new Uint8Array(size);
  }

  /** Widens the complete elements `piece` brings (with the split one before it); keeps its trailing part. */
  push(piece: Uint8Array): void {
    const size = this.size;
    let at = 0;
    if (this.carried > 0) {
      at = Math.min(size - this.carried, piece.byteLength);
      this.carry.set(piece.subarray(0, at), this.carried);
      this.carried += at;
      if (this.carried < size) return;
      this.decode(this.carry, 1);
      this.carried = 0;
    }
    const whole = Math.floor((piece.byteLength - at) / size);
    if (whole > 0) {
      let body = piece.subarray(at, at + whole * size);
      // A typed view needs an aligned offset: a misaligned piece is widened from a copy (at most one piece).
      if (body.byteOffset % size !== 0) body = body.slice();
      this.decode(body, whole);
    }
    const rest = piece.byteLength - at - whole * size;
    if (rest > 0) {
      this.carry.set(piece.subarray(piece.byteLength - rest));
      this.carried = rest;
    }
  }

  /** Checks that every element arrived (the data pass hands exactly the tensor's bytes: anything else is a bug). */
  finish(): void {
    if (this.filled !== this.count || this.carried !== 0)
      throw new Error(`widened ${this.filled} of ${this.count} elements (+${this.carried} bytes)`);
  }

  private decode(bytes: Uint8Array, n: number): void {
    if (this.filled + n > this.count) throw new Error(`more than ${this.count} elements arrived`);
    const dst = this.out.subarray(this.filled, this.filled + n);
    const at = bytes.byteOffset;
    switch (this.dtype) {
      case 'F32':
        new Uint8Array(dst.buffer, dst.byteOffset, n * 4).set(bytes);
        break;
      case 'F16':
        halfToFloat32(new Uint16Array(bytes.buffer, at, n), dst);
        break;
      case 'BF16':
        bfloat16ToFloat32(new Uint16Array(bytes.buffer, at, n), dst);
        break;
      default:
        dst.set(new Float64Array(bytes.buffer, at, n));
    }
    this.filled += n;
  }
}
