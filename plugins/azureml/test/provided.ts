/** What test/global-setup.ts provides to every test file (vitest's inject). */
import { inject } from "vitest";
import type { TestCertificate } from "./tls.js";

declare module "vitest" {
  export interface ProvidedContext {
    azurite: { endpoint: string; port: number; connectionString: string };
    certificate: TestCertificate | { missing: string };
  }
}

export const provided = { azurite: () => inject("azurite"), certificate: () => inject("certificate") };
