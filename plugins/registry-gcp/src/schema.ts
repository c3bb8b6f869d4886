import { z } from "@orch/core/plugin";

export const FLAVOR = "gcp";

export const configSchema = z
  .object({
    uri: z.string().min(1).describe("Artifact Registry or GCR URI, e.g. europe-west1-docker.pkg.dev/my-project/ml or gcr.io/my-project."),
    credentialsFile: z.string().optional().describe("Service-account key or external-account JSON file. Default: Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, gcloud auth application-default login, the metadata server)."),
    scopes: z.array(z.string()).default(["https://www.googleapis.com/auth/cloud-platform"]).describe("OAuth scopes of the access token."),
  })
  .strict();

export type GcpRegistryConfig = z.output<typeof configSchema>;
