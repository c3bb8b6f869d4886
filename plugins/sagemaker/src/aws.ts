/**
 * The AWS clients (SageMaker, CloudWatch Logs, EventBridge Scheduler), created on first use with the
 * default credential provider chain, the configured region and endpoints; and what their errors mean
 * to a user. The SDK modules load only here, inside the runtime.
 */
import { OrchError } from "@orch/core/plugin";
import type { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import type { SageMakerClient } from "@aws-sdk/client-sagemaker";
import type { SchedulerClient } from "@aws-sdk/client-scheduler";
import { FLAVOR, type SageMakerOrchestratorConfig } from "./config.js";

export interface AwsClients {
  sagemaker(): Promise<{ client: SageMakerClient; sdk: typeof import("@aws-sdk/client-sagemaker") }>;
  logs(): Promise<{ client: CloudWatchLogsClient; sdk: typeof import("@aws-sdk/client-cloudwatch-logs") }>;
  scheduler(): Promise<{ client: SchedulerClient; sdk: typeof import("@aws-sdk/client-scheduler") }>;
  dispose(): void;
}

export function createAwsClients(config: SageMakerOrchestratorConfig): AwsClients {
  const common = (endpoint: string | undefined) => ({
    ...(config.region ? { region: config.region } : {}),
    ...(endpoint ? { endpoint } : {}),
    maxAttempts: 5,
  });
  const made: { destroy(): void }[] = [];
  const once = <T>(make: () => Promise<T>) => {
    let value: Promise<T> | undefined;
    return () => (value ??= make());
  };
  return {
    sagemaker: once(async () => {
      const sdk = await import("@aws-sdk/client-sagemaker");
      const client = new sdk.SageMakerClient(common(config.endpoints.sagemaker));
      made.push(client);
      return { client, sdk };
    }),
    logs: once(async () => {
      const sdk = await import("@aws-sdk/client-cloudwatch-logs");
      const client = new sdk.CloudWatchLogsClient(common(config.endpoints.logs));
      made.push(client);
      return { client, sdk };
    }),
    scheduler: once(async () => {
      const sdk = await import("@aws-sdk/client-scheduler");
      const client = new sdk.SchedulerClient(common(config.endpoints.scheduler));
      made.push(client);
      return { client, sdk };
    }),
    dispose() {
      for (const client of made.splice(0)) client.destroy();
    },
  };
}

/** The error's AWS type (`ResourceNotFound`, `ValidationException` …), if it is an AWS service error. */
export function awsErrorName(error: unknown): string | undefined {
  const e = error as { name?: string; $metadata?: unknown; __type?: string };
  return e && typeof e === "object" && "$metadata" in e ? e.name : undefined;
}

export const isNotFound = (error: unknown) => ["ResourceNotFound", "ResourceNotFoundException"].includes(awsErrorName(error) ?? "");

/** An AWS call that failed, as an OrchError naming what was being done and how to fix the usual causes. */
export function awsError(what: string, error: unknown): OrchError {
  const name = awsErrorName(error);
  const message = (error as Error)?.message ?? String(error);
  if (/region is missing/i.test(message)) {
    return new OrchError("E_CONFIG_INVALID", {
      flavor: FLAVOR,
      key: "region",
      message: `SageMaker ${what}: no AWS region is configured.`,
      hint: "Set the orchestrator's region (orch orchestrator update NAME --region=eu-west-1), or AWS_REGION in the environment.",
      cause: error,
    });
  }
  if (/credential/i.test(message) && !name) {
    return new OrchError("E_BACKEND_UNAVAILABLE", {
      flavor: FLAVOR,
      message: `SageMaker ${what}: no AWS credentials were found (${message}).`,
      hint: "Configure credentials for the AWS default provider chain: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, SSO or an instance role.",
      cause: error,
    });
  }
  const hint =
    name === "AccessDeniedException" || name === "AccessDenied"
      ? "The AWS identity orch uses needs sagemaker:*Pipeline* (and logs:, scheduler: for logs and schedules) permissions, and iam:PassRole on the execution role."
      : name === "ValidationException"
        ? "SageMaker refused the request as invalid; the message says which field. Check the orchestrator's config (orch orchestrator describe) and the step settings."
        : "Check the region, the endpoint and your AWS credentials; the AWS message above says more.";
  return new OrchError(name === "ValidationException" ? "E_CONFIG_INVALID" : "E_BACKEND_UNAVAILABLE", {
    flavor: FLAVOR,
    message: `SageMaker ${what} failed: ${name ? `${name}: ` : ""}${message}`,
    hint,
    cause: error,
  });
}
