import { describe } from "vitest";
import { testArtifactStore } from "@orch/testkit";
import { useS3rver } from "../test/s3rver.js";
import { configSchema } from "./schema.js";
import { createS3Store } from "./store.js";

const BUCKET = "orch-conformance";
const { config } = useS3rver(BUCKET, "t");

describe("store: s3 (s3rver)", () => {
  testArtifactStore({
    create: () => createS3Store(config()),
    // A child process gets describe() (no secrets) plus env() (the credentials), as orch-entrypoint does.
    reopen: (described) => {
      const env = createS3Store(config()).env!();
      return createS3Store(configSchema.parse({ ...described.config, accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY }));
    },
    misconfigured: {
      "missing bucket": () => createS3Store(config({ path: "s3://no-such-bucket/orch" })),
      "wrong access key": () => createS3Store(config({ accessKeyId: "WRONGKEY", secretAccessKey: "nope" })),
      "unreachable endpoint": () => createS3Store(config({ endpoint: "http://127.0.0.1:1", maxAttempts: 1 })),
    },
  });
});
