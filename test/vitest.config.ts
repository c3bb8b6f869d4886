import { defineProject } from "vitest/config";

// Repository-level tests: CI workflow structure, fresh installs, published tarballs used outside the
// repository, and references to documents a reader of the repository cannot see.
export default defineProject({
  // outside-project.test.ts is the one file that builds and packs packages (once, for all its tests).
  test: { name: "orch-monorepo", include: ["**/*.test.ts"], testTimeout: 60_000, hookTimeout: 900_000 },
});
