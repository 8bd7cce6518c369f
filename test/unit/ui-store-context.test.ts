// The one way UI stores reach components: the hook returns the store its provider holds, and a component rendered
// outside the provider gets an error that names the hook and the provider it needs.
import { createComponent, createRoot } from 'solid-js';
import { describe, expect, it } from 'vitest';
import { storeContext } from '../../src/ui/stores/store-context';

describe('storeContext', () => {
  const [ThingContext, useThing] = storeContext<{ name: string }>('useThing', 'ThingContext');

  it('gives a component the store of the provider around it', () => {
    const store = { name: 'the store' };
    let seen: unknown = null;
    createRoot(() =>
      createComponent(ThingContext.Provider, {
        value: store,
        get children() {
          seen = useThing();
          return null;
        },
      }),
    );
    expect(seen).toBe(store);
  });

  it('refuses a component outside its provider, naming the hook and the provider', () => {
    expect(() => createRoot(() => useThing())).toThrow('useThing() outside <ThingContext.Provider>');
  });
});
