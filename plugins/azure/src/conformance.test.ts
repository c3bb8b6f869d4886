/**
 * @orch/testkit's artifact-store conformance suite on the azure store, against Azurite. Every check gets a
 * fresh container; `reopen` opens the store from `describe()` (which carries no credential) with the
 * credential in the environment, as a child process or container would.
 */
import { testArtifactStore } from "@orch/testkit";
import { describe } from "vitest";
import { useAzurite } from "../test/azurite.js";
import { createAzureStore } from "./store.js";

const azurite = useAzurite();

describe("azure store on Azurite", () => {
  testArtifactStore({
    create: async () => createAzureStore({ path: `az://${await azurite.container("conf")}/orch/prefix`, connectionString: azurite.connectionString }, { projectRoot: "." }),
    reopen: (described) => createAzureStore(described.config as { path: string }, { projectRoot: "." }, { env: { AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString } }),
  });
});
