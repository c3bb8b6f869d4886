/**
 * Plugins for the testkit's own tests: a well-behaved in-process reference, and deliberately broken
 * variants of it. Not exported from the package.
 */
import {
  CONSERVATIVE_CAPABILITIES,
  defineOrchestrator,
  processRunControls,
  runOnCoreScheduler,
  writeRunRecord,
  z,
  type Orchestrator,
  type OrchestratorCapabilities,
  type OrchestratorPlugin,
  type PluginContext,
  type Snapshot,
  type SubmitContext,
} from "@orch/core/plugin";

export const referenceCapabilities: OrchestratorCapabilities = {
  ...CONSERVATIVE_CAPABILITIES,
  dynamic: true,
  resources: "recorded",
  logs: true,
  parallel: true,
};

export const referenceConfigSchema = z
  .object({ maxParallelism: z.number().int().min(1).default(4).describe("How many steps run at once.") })
  .strict();

type Config = z.output<typeof referenceConfigSchema>;

export interface ReferenceOptions {
  flavor?: string;
  capabilities?: Partial<OrchestratorCapabilities>;
  configSchema?: z.ZodType;
  /** Change the snapshot before running it (a plugin that drops settings). */
  mapSnapshot?: (snapshot: Snapshot) => Snapshot;
  /** Change what submit passes on (a plugin that forgets the pipeline). */
  mapSubmit?: (submit: SubmitContext) => SubmitContext;
  /** Extra or replaced runtime members. */
  runtime?: (base: Orchestrator, context: PluginContext) => Partial<Orchestrator>;
}

/** An in-process orchestrator built on runOnCoreScheduler, like `local`; options make it misbehave. */
export function referencePlugin(options: ReferenceOptions = {}): OrchestratorPlugin {
  const flavor = options.flavor ?? "reference";
  return defineOrchestrator({
    flavor,
    configSchema: (options.configSchema ?? referenceConfigSchema) as typeof referenceConfigSchema,
    capabilities: { ...referenceCapabilities, ...options.capabilities },
    runtime: async () => ({
      createOrchestrator(config: Config, context: PluginContext) {
        const base: Orchestrator = {
          flavor,
          async submit(snapshot, rawSubmit) {
            const submit = options.mapSubmit ? options.mapSubmit(rawSubmit) : rawSubmit;
            return runOnCoreScheduler(options.mapSnapshot ? options.mapSnapshot(snapshot) : snapshot, { plugin: context, submit, flavor, maxParallelism: config.maxParallelism ?? 4 });
          },
          // Status and logs straight from the run's journal in the artifact store.
          status: processRunControls(context.artifactStore).status,
          logs: processRunControls(context.artifactStore).logs,
          async dispose() {},
        };
        return { ...base, ...options.runtime?.(base, context) };
      },
    }),
  }) as unknown as OrchestratorPlugin;
}

/** A plugin that reports every run as succeeded, whatever happened. */
export function alwaysSucceeds(): OrchestratorPlugin {
  return referencePlugin({
    runtime: (base, context) => ({
      async submit(snapshot, submit) {
        const handle = await base.submit(snapshot, submit);
        return {
          runId: handle.runId,
          async wait() {
            const result = await handle.wait();
            const run = { ...result.run, status: "succeeded" as const };
            await writeRunRecord(context.artifactStore, run);
            return { ...result, run };
          },
        };
      },
    }),
  });
}
