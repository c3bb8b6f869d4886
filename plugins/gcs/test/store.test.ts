import { afterAll, beforeAll, describe } from "vitest";
import { testArtifactStore } from "@orch/testkit";
import { createGcsStore } from "../src/store.js";
import { configSchema } from "../src/index.js";
import { startFakeGcs, type FakeGcs } from "./fake-gcs-server.js";
import { openStore } from "./helpers.js";

let fake: FakeGcs;
beforeAll(async () => {
  fake = await startFakeGcs({ buckets: ["orch-test"] });
});
afterAll(async () => fake?.close());

describe("gcs store: orch conformance suite against the fake JSON API", () => {
  testArtifactStore({
    create: () => openStore(fake),
    reopen: (described) => createGcsStore(configSchema.parse(described.config), { projectRoot: process.cwd() }),
  });
});
