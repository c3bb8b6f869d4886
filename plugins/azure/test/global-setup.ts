/** One Azurite blob service for all test files of this package (each file uses its own containers). */
import type { TestProject } from "vitest/node";
import { startAzurite } from "./azurite-server.js";

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const azurite = await startAzurite();
  project.provide("azurite", { endpoint: azurite.endpoint, port: azurite.port, connectionString: azurite.connectionString });
  return () => azurite.stop();
}
