import { defineStack } from "@orch/core";
import { describe, it } from "vitest";
import { local } from "./index.js";

describe("typed factory", () => {
  it("types the local orchestrator's config", () => {
    defineStack({ name: "ok", orchestrator: local({ maxParallelism: 2 }) });
    // @ts-expect-error — misspelled key
    defineStack({ name: "typo", orchestrator: local({ maxParalelism: 2 }) });
    // @ts-expect-error — wrong type
    defineStack({ name: "type", orchestrator: local({ maxParallelism: "2" }) });
  });
});
