import { z } from "@orch/core/plugin";

export const FLAVOR = "subprocess";

export const configSchema = z
  .object({
    maxParallelism: z.number().int().min(1).default(2).describe("How many step processes run at once."),
    nodeOptions: z
      .array(z.string())
      .default([])
      .describe('Extra Node.js flags for every step process, e.g. ["--max-old-space-size=4096"].'),
    env: z.record(z.string(), z.string()).default({}).describe("Extra environment variables for every step process."),
  })
  .strict();

export type SubprocessOrchestratorConfig = z.output<typeof configSchema>;
