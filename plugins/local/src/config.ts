import { z } from "@orch/core/plugin";

export const FLAVOR = "local";

export const configSchema = z
  .object({
    maxParallelism: z
      .number()
      .int()
      .min(1)
      .default(4)
      .describe("How many independent steps run at once; 1 runs steps strictly one after another."),
    executionMode: z
      .enum(["fail-fast", "continue-on-failure"])
      .optional()
      .describe("Overrides the pipeline's execution mode for runs on this orchestrator."),
  })
  .strict();

export type LocalOrchestratorConfig = z.output<typeof configSchema>;
