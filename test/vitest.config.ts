import { defineProject } from "vitest/config";

// Repository-level tests: CI workflow structure, fresh installs, published tarballs used outside the
// repository, and references to documents a reader of the repository cannot see.
export default defineProject({
  // One file at a time: several build and pack the same packages (turbo writes their dist/).
  test: { name: "orch-monorepo", include: ["**/*.test.ts"], fileParallelism: false, testTimeout: 60_000, hookTimeout: 900_000 },
});
