import { mkdtempSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, it } from "vitest";
import { testOrchestratorPlugin } from "@orch/testkit";
import plugin from "./index.js";
import { BASE_IMAGE, dockerRequired, probeDocker } from "./__fixtures__/docker-env.js";

const probe = await probeDocker();
if (!probe.available && dockerRequired) {
  describe("orch conformance: local-docker", () => {
    it("has a Docker engine and the base image (ORCH_REQUIRE_DOCKER=1)", () => {
      throw new Error(`Docker tests cannot run: ${probe.reason}`);
    });
  });
} else if (!probe.available) {
  console.warn(`[orch] SKIPPING the local_docker conformance suite: ${probe.reason}. Set ORCH_REQUIRE_DOCKER=1 to make this a failure.`);
}

describe.skipIf(!probe.available)("local_docker", () => {
  // The suite's temp folders (stores, files its steps coordinate through) are mounted at the same path.
  const tempRoot = realpathSync(mkdtempSync(join(tmpdir(), "orch-ld-conformance-")));
  afterAll(() => rmSync(tempRoot, { recursive: true, force: true }));
  testOrchestratorPlugin({
    plugin,
    // mountSource: the suite's pipeline module lives in @orch/testkit, a devDependency the build
    // mode would not copy; the mounted workspace has it at the same path.
    config: { baseImage: BASE_IMAGE, mountSource: true, network: "none", maxParallelism: 4, stopGraceSeconds: 1, volumes: [`${tempRoot}:${tempRoot}:rw`] },
    packageRoot: fileURLToPath(new URL("..", import.meta.url)),
    tempRoot,
    timeout: 120_000,
  });
});
