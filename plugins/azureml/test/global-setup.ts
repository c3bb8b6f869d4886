/**
 * Once for this package's tests: Azurite (the azure artifact store's emulator, as plugins/azure runs it)
 * and a self-signed certificate for the loopback ARM server. NODE_EXTRA_CA_CERTS is set here, before
 * vitest starts its worker processes, so the SDK in every worker (and every `orch` child process)
 * trusts the certificate the way a user's machine trusts a corporate CA: no TLS check is switched off.
 */
import type { TestProject } from "vitest/node";
import { startAzurite } from "../../azure/test/azurite-server.js";
import { makeCertificate } from "./tls.js";

import "./provided.js";

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const azurite = await startAzurite();
  const certificate = makeCertificate();
  if ("certPath" in certificate) process.env.NODE_EXTRA_CA_CERTS = certificate.certPath;
  project.provide("azurite", { endpoint: azurite.endpoint, port: azurite.port, connectionString: azurite.connectionString });
  project.provide("certificate", certificate);
  return () => azurite.stop();
}
