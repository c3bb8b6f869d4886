import { describe, expect, it } from "vitest";
import { z } from "zod";
import { REDACTED, looksSecret, redactSecrets, schemaSecretFlag, secret } from "./secret.js";

// Regression tests for issue 9, item 24: secrets nested in maps (env, buildArgs, podSettings.env) were printed.
describe("secrets", () => {
  it("recognises credential-like keys in any casing, and not references to them", () => {
    for (const key of ["password", "DB_PASSWORD", "apiKey", "APIKey", "AWS_SECRET_ACCESS_KEY", "githubToken", "auth", "Authorization", "credentials", "client_secret", "connectionString", "sasToken", "private-key"]) {
      expect(looksSecret(key), key).toBe(true);
    }
    for (const key of ["HOME", "monkey", "author", "keyFile", "tokenUrl", "secretName", "imagePullSecrets", "kubernetesContext", "passwordFile", "namespace"]) {
      expect(looksSecret(key), key).toBe(false);
    }
  });

  it("reads the schema's mark through .optional(), .default() and .describe()", () => {
    expect(schemaSecretFlag(secret(z.string()).optional().describe("x"))).toBe(true);
    expect(schemaSecretFlag(secret(z.string().optional()).describe("x"))).toBe(true);
    expect(schemaSecretFlag(z.string().meta({ secret: false }))).toBe(false);
    expect(schemaSecretFlag(z.string())).toBeUndefined();
  });

  it("redacts schema-marked fields and credential-like keys at any depth, keeping everything else", () => {
    const schema = z
      .object({
        uri: z.string(),
        login: secret(z.string().optional()),
        passwordHint: z.string().meta({ secret: false }).optional(),
        env: z.record(z.string(), z.string()).default({}),
        buildArgs: z.record(z.string(), z.string()).default({}),
        podSettings: z.object({ env: z.array(z.object({ name: z.string(), value: z.string() })).optional() }).optional(),
      })
      .strict();
    const config = {
      uri: "ghcr.io/acme",
      login: "bot:hunter2",
      passwordHint: "the usual",
      env: { DB_PASSWORD: "pw", HOME: "/root" },
      buildArgs: { NPM_TOKEN: "npm_abc", NODE_ENV: "production" },
      podSettings: { env: [{ name: "X", value: "1" }], secrets: { apiKey: "k" } },
      empty: { token: "" },
    };
    expect(redactSecrets(config, schema)).toEqual({
      uri: "ghcr.io/acme",
      login: REDACTED,
      passwordHint: "the usual",
      env: { DB_PASSWORD: REDACTED, HOME: "/root" },
      buildArgs: { NPM_TOKEN: REDACTED, NODE_ENV: "production" },
      podSettings: { env: [{ name: "X", value: "1" }], secrets: { apiKey: REDACTED } },
      empty: { token: "" },
    });
    expect(config.env.DB_PASSWORD).toBe("pw"); // a copy; the config itself is untouched
  });
});
