import { defineStack } from "@orch/core";
import { local } from "@orch/plugin-local";
import { describe, it } from "vitest";
import { gcs } from "./index.js";

describe("typed factory", () => {
  it("types the gcs store's config", () => {
    defineStack({ name: "ok", orchestrator: local(), artifactStore: gcs({ path: "gs://my-bucket/orch", project: "p", keyFile: "key.json" }) });
    // @ts-expect-error — path is required
    gcs({ project: "p" });
    // @ts-expect-error — misspelled key
    gcs({ path: "gs://my-bucket", apiEndpont: "http://127.0.0.1:1" });
    // @ts-expect-error — wrong type
    gcs({ path: 42 });
  });
});
