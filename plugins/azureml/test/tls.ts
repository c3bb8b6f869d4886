/**
 * A self-signed certificate for 127.0.0.1, made with openssl for one test run. Azure's bearer-token
 * policy sends tokens over HTTPS only, so the loopback ARM server speaks HTTPS; clients trust this
 * certificate through the pipeline's tlsOptions (in-process) or NODE_EXTRA_CA_CERTS (child processes).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TestCertificate {
  key: string;
  cert: string;
  /** Path of the PEM certificate (for NODE_EXTRA_CA_CERTS). */
  certPath: string;
}

/** Undefined (and a reason) when openssl is missing. */
export function makeCertificate(): TestCertificate | { missing: string } {
  const dir = mkdtempSync(join(tmpdir(), "orch-aml-tls-"));
  const keyPath = join(dir, "key.pem");
  const certPath = join(dir, "cert.pem");
  try {
    execFileSync(
      "openssl",
      ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", keyPath, "-out", certPath, "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
      { stdio: "ignore" },
    );
  } catch (error) {
    return { missing: `openssl could not make a certificate: ${(error as Error).message}` };
  }
  return { key: readFileSync(keyPath, "utf8"), cert: readFileSync(certPath, "utf8"), certPath };
}
