/**
 * The key rule of core's artifact store (posix keys of `[A-Za-z0-9_.-]` segments, no `.`/`..`, no
 * leading `/`). Core does not export its guard, so the store repeats it: an object store has no
 * folders to escape, but a key like `../x` must fail the same way on every flavor.
 */
const KEY_PATTERN = /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*\/?$/;

export function assertStoreKey(key: string): void {
  if (!KEY_PATTERN.test(key) || key.split("/").some((part) => part === ".." || part === ".")) {
    throw new Error(`Unsafe artifact store key ${JSON.stringify(key)}`);
  }
}
