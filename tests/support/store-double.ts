import type { Store } from '../../services/shared/store/store.ts';

/**
 * A Store for tests of the HTTP edge that need one to exist but not to hold data: every
 * query answers no rows, writes succeed and keep nothing, the store is always up.
 * `overrides` replace the parts a test watches or scripts.
 */
export function storeDouble(overrides: Partial<Store> = {}): Store {
  return {
    mode: 'embedded',
    database: 'double',
    location: 'nowhere',
    table: (name) => `double.${name}`,
    query: async () => [],
    command: async () => {},
    insert: async () => {},
    ping: async () => true,
    close: async () => {},
    ...overrides,
  };
}
