// Owns everything the engine remembers between calls, with one forget: each conversation's transcript and dropped
// turns (evicted together, least recently used first), its KV cache (within a byte budget), and the image features
// conversations share. It must not run sessions or build prompts.

import { FeatureCache } from './feature-cache';
import { KvCacheStore, type ConversationKv } from './kv-cache';
import { Lru } from './lru';
import { Transcript } from './transcript';

/** What the engine remembers of one conversation besides its KV tensors: a few thousand numbers at most. */
export interface ConversationMemory {
  /** The last prompt's ids and the answer to it, so the next prompt reuses the ids the model generated. */
  readonly transcript: Transcript;
  /**
   * Turns the last prompt left out to fit the window ('drop-oldest-turns'); tried first next time, so the prompt
   * keeps the same start (and its KV cache) while it still fits.
   */
  droppedTurns: number;
  /**
   * The last request that had to leave turns out: its messages (as {@link messageSignatures}) and a lower bound on
   * its whole prompt's length. A request that only extends those messages is at least as long, so fitting it to
   * the window does not build the whole conversation again.
   */
  wholePrompt: { messages: readonly string[]; atLeast: number } | null;
}

export interface ConversationStateOptions {
  /** Conversations whose transcript and dropped turns are kept (default 64). */
  maxConversations?: number | undefined;
  /** Conversations whose KV cache is kept at once (default 8; the byte budget usually binds first). */
  maxKvConversations?: number | undefined;
  /** Bytes of KV cache kept between turns (default: no limit). */
  kvBudgetBytes?: number | undefined;
  /** Images whose features are kept (default 16), and their most bytes (default 256 MiB). */
  maxImages?: number | undefined;
  imageBytes?: number | undefined;
  /** Tokenise each conversation's prompts in pieces, keeping finished turns' ids (default true; see Transcript). */
  incrementalPrompt?: boolean | undefined;
}

/**
 * The engine's memory. KV caches have their own store because tensors are counted in bytes and cut back after each
 * turn; a conversation pushed out of the memory loses its KV cache with it, so nothing is ever half remembered.
 */
export class ConversationState {
  /** KV caches by conversation. */
  readonly kv: KvCacheStore;
  /** Image features by picture content, shared by every conversation. */
  readonly features: FeatureCache;
  private readonly memories: Lru<string, ConversationMemory>;
  private readonly incrementalPrompt: boolean;

  constructor(options: ConversationStateOptions = {}) {
    this.incrementalPrompt = options.incrementalPrompt !== false;
    this.kv = new KvCacheStore(options.maxKvConversations ?? 8, options.kvBudgetBytes);
    this.features = new FeatureCache(options.maxImages ?? 16, options.imageBytes ?? 256 * 1024 * 1024);
    this.memories = new Lru(options.maxConversations ?? 64, (id) => this.kv.forget(id));
  }

  /** The memory of `conversationId`, created empty when new; marks it most recently used. */
  memory(conversationId: string): ConversationMemory {
    const pieces = this.incrementalPrompt;
    return this.memories.take(conversationId, () => ({
      transcript: new Transcript({ pieces }),
      droppedTurns: 0,
      wholePrompt: null,
    }));
  }

  /** The KV cache of `conversationId`, created empty when new; marks it most recently used among the caches. */
  kvOf(conversationId: string): ConversationKv {
    return this.kv.take(conversationId);
  }

  /** Conversations remembered (with or without a KV cache). */
  get size(): number {
    return this.memories.size;
  }

  /**
   * Forgets one conversation (its transcript, dropped turns and KV cache), or, without an id, every conversation and
   * every image's features. Freed tensors are released at once.
   */
  forget(conversationId?: string): void {
    if (conversationId === undefined) {
      this.memories.clear();
      this.kv.forget();
      this.features.clear();
      return;
    }
    this.memories.delete(conversationId);
    // A cache taken without its memory (a test, a future caller) goes too.
    this.kv.forget(conversationId);
  }
}
