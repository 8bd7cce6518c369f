// Owns id generation for conversations, messages and images.

/** A random, sortable-enough id (time prefix + random suffix). */
export function newId(prefix: string): string {
  const rand = crypto.getRandomValues(new Uint32Array(2));
  return `${prefix}-${Date.now().toString(36)}-${rand[0]?.toString(36) ?? '0'}${rand[1]?.toString(36) ?? '0'}`;
}
