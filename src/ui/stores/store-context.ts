// Owns the one way a UI store reaches components: a Solid context for the store and the hook that reads it, which
// fails loudly when a component renders outside the provider. It must hold no store logic.

import { createContext, useContext, type Context } from 'solid-js';

/**
 * A context for a store of type T and its hook: `const [ChatContext, useChat] = storeContext<ChatStore>('useChat',
 * 'ChatContext')`. The names only word the error a component outside `<ChatContext.Provider>` gets.
 */
export function storeContext<T>(hookName: string, contextName: string): [Context<T | undefined>, () => T] {
  const context = createContext<T>();
  const use = (): T => {
    const store = useContext(context);
    if (!store) throw new Error(`${hookName}() outside <${contextName}.Provider>`);
    return store;
  };
  return [context, use];
}
