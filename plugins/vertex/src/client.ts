/**
 * The Vertex AI clients (`@google-cloud/aiplatform` v1 PipelineServiceClient and ScheduleServiceClient),
 * loaded only by the runtime. They speak REST (the SDK's `fallback` mode): no native gRPC, one transport
 * for Google's endpoint, a Private Service Connect address and the loopback server of the tests.
 * Credentials are Application Default Credentials (google-auth-library), or the `keyFile` the config
 * names; a service-account key signs its own JWTs, so no token endpoint is called.
 */
import { helpers, protos, v1 } from "@google-cloud/aiplatform";
import { OrchError } from "@orch/core/plugin";
import type { VertexOrchestratorConfig } from "./config.js";
import { vertexError } from "./errors.js";

export type PipelineServiceClient = InstanceType<typeof v1.PipelineServiceClient>;
export type ScheduleServiceClient = InstanceType<typeof v1.ScheduleServiceClient>;
export { helpers, protos };

/** Where the clients connect: the config's apiEndpoint, else the location's regional endpoint. */
export function endpointOptions(config: Pick<VertexOrchestratorConfig, "apiEndpoint" | "location">): { apiEndpoint: string; port?: number; protocol?: string } {
  if (!config.apiEndpoint) return { apiEndpoint: `${config.location}-aiplatform.googleapis.com` };
  const url = new URL(config.apiEndpoint);
  const protocol = url.protocol.replace(/:$/, "");
  return { apiEndpoint: url.hostname, ...(url.port ? { port: Number(url.port) } : {}), protocol };
}

export interface VertexClients {
  pipelines: PipelineServiceClient;
  schedules: ScheduleServiceClient;
  /** projects/<project>/locations/<location> */
  parent: string;
  project: string;
  close(): Promise<void>;
}

/** Opens both clients; the project comes from the config, else from the credentials. */
export async function openClients(config: VertexOrchestratorConfig): Promise<VertexClients> {
  const options = {
    ...endpointOptions(config),
    fallback: true as const,
    ...(config.keyFile ? { keyFilename: config.keyFile } : {}),
    ...(config.project ? { projectId: config.project } : {}),
  };
  const pipelines = new v1.PipelineServiceClient(options);
  const schedules = new v1.ScheduleServiceClient(options);
  let project = config.project;
  if (!project) {
    try {
      project = await pipelines.getProjectId();
    } catch (cause) {
      throw new OrchError("E_CONFIG_INVALID", {
        flavor: "vertex",
        key: "project",
        message: `The vertex orchestrator has no project: none is configured and the credentials name none (${(cause as Error)?.message ?? String(cause)}).`,
        hint: "Set it: orch orchestrator update NAME --project=my-project (or gcloud config set project, or GOOGLE_CLOUD_PROJECT).",
        cause,
      });
    }
  }
  return {
    pipelines,
    schedules,
    project,
    parent: `projects/${project}/locations/${config.location}`,
    async close() {
      await Promise.allSettled([pipelines.close(), schedules.close()]);
    },
  };
}

/** Runs an API call, turning its failure into an OrchError that says what was being done. */
export async function call<T>(action: string, config: VertexOrchestratorConfig, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw vertexError(action, error, config);
  }
}
