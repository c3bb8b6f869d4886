import { z } from "zod";

/**
 * What an orchestrator flavor can honour; core checks a run against it before submitting
 * (`checkCapabilities`) and `@orch/testkit` proves each declared capability. The TypeScript type
 * {@link OrchestratorCapabilities} is derived from this schema: there is one declaration.
 */
export const OrchestratorCapabilitiesSchema = z
  .object({
    /** Runs dynamic pipelines (the pipeline function executes at run time). */
    dynamic: z.boolean(),
    schedules: z
      .object({
        cron: z.boolean(),
        interval: z.boolean(),
        once: z.boolean(),
        /** The backend keeps the schedule itself (`schedule` / `deleteSchedule` on the runtime). */
        manage: z.boolean(),
      })
      .strict(),
    retries: z.enum(["native", "runner"]),
    /**
     * `exact`: enforced as given; `mapped`: rounded up to what the backend offers (instance types);
     * `recorded`: kept in the run for reference, not enforced (a warning says so);
     * `none`: cannot be honoured, so a step with resources is refused (a warning with strict: false).
     */
    resources: z.enum(["exact", "mapped", "recorded", "none"]),
    stop: z.boolean(),
    logs: z.boolean(),
    parallel: z.boolean(),
    requires: z.object({ remoteArtifactStore: z.boolean(), containerRegistry: z.boolean() }).strict(),
  })
  .strict();

export type OrchestratorCapabilities = z.output<typeof OrchestratorCapabilitiesSchema>;

/**
 * The conservative set a flavor gets for every capability it does not declare: nothing optional is
 * claimed, so core refuses what the flavor has not said it can do instead of silently ignoring it.
 */
export const CONSERVATIVE_CAPABILITIES: OrchestratorCapabilities = Object.freeze({
  dynamic: false,
  schedules: Object.freeze({ cron: false, interval: false, once: false, manage: false }),
  retries: "runner",
  resources: "none",
  stop: false,
  logs: false,
  parallel: false,
  requires: Object.freeze({ remoteArtifactStore: false, containerRegistry: false }),
}) as OrchestratorCapabilities;

/** What a plugin declares: any subset; `schedules` and `requires` merge key by key with the conservative set. */
export type CapabilitiesInput = Partial<Omit<OrchestratorCapabilities, "schedules" | "requires">> & {
  schedules?: Partial<OrchestratorCapabilities["schedules"]>;
  requires?: Partial<OrchestratorCapabilities["requires"]>;
};
