/**
 * The Azure ML calls orch makes, through the real @azure/arm-machinelearning client: jobs, child jobs,
 * cancel, environment versions and schedules. Credentials: `DefaultAzureCredential` from @azure/identity
 * (environment, workload identity, managed identity, Azure CLI …) unless the caller hands one in.
 * Throttling (429 + Retry-After) and transient failures are retried by the SDK's pipeline.
 */
import { AzureMachineLearningWorkspaces, type JobBase, type Schedule } from "@azure/arm-machinelearning";
import type { TokenCredential } from "@azure/core-auth";
import { createPipelineRequest, type TlsSettings } from "@azure/core-rest-pipeline";
import { DefaultAzureCredential } from "@azure/identity";
import { OrchError } from "@orch/core/plugin";
import { FLAVOR, type AzureMLOrchestratorConfig } from "./config.js";
import { workspaceId } from "./pipeline-job.js";

/** What a caller may swap in: a credential (tests, or an app that already has one) and TLS settings. */
export interface ClientOverrides {
  credential?: TokenCredential;
  tlsOptions?: TlsSettings;
}

/** The HTTP status of an SDK error (RestError), if any. */
export const httpStatus = (error: unknown): number | undefined => (error as { statusCode?: number })?.statusCode;

/** The ARM error body's code and message, else the error's own message. */
export function armMessage(error: unknown): string {
  const details = (error as { details?: { error?: { code?: string; message?: string } } })?.details?.error;
  if (details?.message) return `${details.code ? `${details.code}: ` : ""}${details.message}`;
  return (error as Error)?.message ?? String(error);
}

export class AzureMLClient {
  readonly sdk: AzureMachineLearningWorkspaces;
  readonly apiVersion: string;

  constructor(
    readonly config: AzureMLOrchestratorConfig,
    overrides: ClientOverrides = {},
  ) {
    const credential = overrides.credential ?? new DefaultAzureCredential();
    this.sdk = new AzureMachineLearningWorkspaces(credential, config.subscriptionId, {
      endpoint: config.endpoint,
      // The token's audience is ARM itself, wherever the endpoint points.
      credentialScopes: ["https://management.azure.com/.default"],
      ...(overrides.tlsOptions ? { tlsOptions: overrides.tlsOptions } : {}),
    });
    this.apiVersion = this.sdk.apiVersion;
  }

  /** An OrchError for a failed call, naming what was done and the ARM error. */
  error(action: string, cause: unknown): OrchError {
    const status = httpStatus(cause);
    const auth = status === 401 || status === 403;
    return new OrchError("E_BACKEND_UNAVAILABLE", {
      flavor: FLAVOR,
      message: `Azure ML ${action} failed${status ? ` (HTTP ${status})` : ""}: ${armMessage(cause)}`,
      hint: auth
        ? "Sign in (az login) or give DefaultAzureCredential a service principal / managed identity with the AzureML Data Scientist role on the workspace."
        : `Check subscriptionId, resourceGroup and workspace (${this.config.workspace}) and that ${this.config.endpoint} is reachable.`,
      cause,
    });
  }

  /** Creates (or finds) the environment version of an image: PUT is idempotent, the version is the image's hash. */
  async ensureEnvironment(name: string, version: string, image: string): Promise<void> {
    try {
      await this.sdk.environmentVersions.createOrUpdate(this.config.resourceGroup, this.config.workspace, name, version, {
        properties: { image, description: "orch project image", isAnonymous: false },
      });
    } catch (error) {
      throw this.error(`creating environment ${name}:${version}`, error);
    }
  }

  async createJob(name: string, body: unknown): Promise<JobBase> {
    return this.sdk.jobs.createOrUpdate(this.config.resourceGroup, this.config.workspace, name, body as JobBase);
  }

  /** A job, or undefined when it does not exist. */
  async getJob(name: string): Promise<JobBase | undefined> {
    try {
      return await this.sdk.jobs.get(this.config.resourceGroup, this.config.workspace, name);
    } catch (error) {
      if (httpStatus(error) === 404) return undefined;
      throw this.error(`reading job ${name}`, error);
    }
  }

  /**
   * The child jobs of a pipeline job. The `parentJobName` filter is part of the service's jobs list, but
   * the SDK's typed list() (api-version 2022-10-01) does not expose it, so the request goes through the
   * same client pipeline (credential, retries, TLS) with the query added; nextLink pages are followed.
   */
  async listChildJobs(parentName: string): Promise<JobBase[]> {
    const jobs: JobBase[] = [];
    let url: string | undefined =
      `${this.config.endpoint.replace(/\/$/, "")}${workspaceId(this.config)}/jobs?api-version=${encodeURIComponent(this.apiVersion)}&parentJobName=${encodeURIComponent(parentName)}`;
    while (url) {
      const response = await this.sdk.sendRequest(createPipelineRequest({ url, method: "GET" }));
      const body = response.bodyAsText ? (JSON.parse(response.bodyAsText) as { value?: JobBase[]; nextLink?: string; error?: { code?: string; message?: string } }) : {};
      if (response.status !== 200) {
        throw this.error(`listing the child jobs of ${parentName}`, Object.assign(new Error(body.error?.message ?? `HTTP ${response.status}`), { statusCode: response.status, details: body }));
      }
      jobs.push(...(body.value ?? []));
      url = body.nextLink;
    }
    return jobs;
  }

  async cancelJob(name: string): Promise<void> {
    try {
      await this.sdk.jobs.beginCancelAndWait(this.config.resourceGroup, this.config.workspace, name, { updateIntervalInMs: 200 });
    } catch (error) {
      if (httpStatus(error) === 404) return;
      throw this.error(`cancelling job ${name}`, error);
    }
  }

  async putSchedule(name: string, body: Schedule): Promise<void> {
    try {
      await this.sdk.schedules.beginCreateOrUpdateAndWait(this.config.resourceGroup, this.config.workspace, name, body, { updateIntervalInMs: 200 });
    } catch (error) {
      throw this.error(`creating schedule ${name}`, error);
    }
  }

  async deleteSchedule(name: string): Promise<boolean> {
    try {
      await this.sdk.schedules.beginDeleteAndWait(this.config.resourceGroup, this.config.workspace, name, { updateIntervalInMs: 200 });
      return true;
    } catch (error) {
      if (httpStatus(error) === 404) return false;
      throw this.error(`deleting schedule ${name}`, error);
    }
  }

  async listSchedules(): Promise<Schedule[]> {
    const all: Schedule[] = [];
    try {
      for await (const schedule of this.sdk.schedules.list(this.config.resourceGroup, this.config.workspace)) all.push(schedule);
    } catch (error) {
      throw this.error("listing schedules", error);
    }
    return all;
  }
}
