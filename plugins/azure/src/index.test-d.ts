import { defineStack } from "@orch/core";
import { local } from "@orch/plugin-local";
import { describe, it } from "vitest";
import { azure } from "./index.js";

describe("typed factory", () => {
  it("types the azure store's config", () => {
    defineStack({ name: "ok", orchestrator: local(), artifactStore: azure({ path: "az://data/orch", account: "mlstore" }) });
    // @ts-expect-error — path is required
    defineStack({ name: "nopath", orchestrator: local(), artifactStore: azure({ account: "mlstore" }) });
    // @ts-expect-error — misspelled key
    defineStack({ name: "typo", orchestrator: local(), artifactStore: azure({ path: "az://data", conectionString: "x" }) });
  });
});
