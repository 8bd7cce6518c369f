// Owns remembering embedding rows by token id, so a decode step whose token was already embedded (in the prompt or
// earlier in the answer) skips the embed_tokens run. It must not run sessions; rows are only ever read by copy.

import type { FloatData } from './tensor-utils';

/** Embedding rows by token id, least recently stored dropped first, within a byte bound. */
export class EmbeddingRows {
  private readonly rows = new Map<number, FloatData>();
  private bytes = 0;

  constructor(private readonly maxBytes = 16 * 1024 * 1024) {}

  get(id: number): FloatData | undefined {
    return this.rows.get(id);
  }

  set(id: number, row: FloatData): void {
    if (row.byteLength > this.maxBytes || this.rows.has(id)) return;
    this.rows.set(id, row);
    this.bytes += row.byteLength;
    while (this.bytes > this.maxBytes) {
      const [oldest, old] = this.rows.entries().next().value as [number, FloatData];
      this.rows.delete(oldest);
      this.bytes -= old.byteLength;
    }
  }

  get size(): number {
    return this.rows.size;
  }

  clear(): void {
    this.rows.clear();
    this.bytes = 0;
  }
}
