import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The folder of KFP's published protos, swagger and golden samples used to check the IR:
 * `$ORCH_KFP_CONFORMANCE`, else `shared/conformance/kfp` beside the repository or beside one of its
 * parent folders (a git worktree may sit deeper than the main checkout). Undefined when absent: tests
 * that need it skip, saying so.
 */
export function findKfpConformance(): string | undefined {
  const fromEnv = process.env.ORCH_KFP_CONFORMANCE;
  if (fromEnv) return existsSync(join(fromEnv, "proto", "pipeline_spec.proto")) ? resolve(fromEnv) : undefined;
  for (let dir = dirname(fileURLToPath(import.meta.url)); dirname(dir) !== dir; dir = dirname(dir)) {
    const candidate = join(dir, "shared", "conformance", "kfp");
    if (existsSync(join(candidate, "proto", "pipeline_spec.proto"))) return candidate;
  }
  return undefined;
}

/** Why a conformance test is skipped, for `describe.skipIf(...)` titles and a loud warning. */
export const KFP_CONFORMANCE_MISSING =
  "SKIPPED: the KFP conformance folder (protos, swagger, golden samples) was not found at shared/conformance/kfp beside the repository or its parent folders; set ORCH_KFP_CONFORMANCE to its path to run these tests.";
