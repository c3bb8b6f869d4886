// The schemas live here, apart from index.ts: the entry and the runtime both import them, and
// neither imports the other (no entry ↔ runtime cycle).
import { z } from "@orch/core/plugin";

export const FLAVOR = "my-flavor";

/** Stack config: strict, every key described, defaults here and nowhere else. */
export const configSchema = z
  .object({
    endpoint: z.url().optional().describe("URL of the my-flavor API. Unset: run in this process (the template's placeholder backend)."),
    maxParallelism: z.number().int().min(1).default(4).describe("How many steps run at once."),
  })
  .strict();

export type MyFlavorConfig = z.output<typeof configSchema>;
