// Owns spelling bytes as lowercase hex and the WebCrypto sha256 of a buffer in that spelling (the form manifests and
// ids use). Runtime-agnostic: Node 20 and browsers both have `crypto.subtle`.

/** Bytes as lowercase hex, two digits each. */
export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** The sha256 of `bytes` (held whole in memory), as lowercase hex. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>)));
}
