/**
 * The Azurite that test/global-setup.ts starts once for this package's tests, seen from a test file:
 * its endpoint and connection string, and plain-SDK clients for setting up and checking containers.
 */
import { inject } from "vitest";
import { clients, type Azurite } from "./azurite-server.js";

export { blobNames, blobText, DEV_ACCOUNT, DEV_KEY } from "./azurite-server.js";

declare module "vitest" {
  export interface ProvidedContext {
    azurite: { endpoint: string; port: number; connectionString: string };
  }
}

export type SharedAzurite = Omit<Azurite, "process" | "stop">;

export function useAzurite(): SharedAzurite {
  const { endpoint, port, connectionString } = inject("azurite");
  return clients(endpoint, port, connectionString);
}
