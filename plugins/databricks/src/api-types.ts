/**
 * The part of the Databricks Jobs API 2.2 that orch sends and reads, typed after the published
 * reference (field names, enums and which fields are required). Requests are snake_case as on the wire.
 */

export interface ClusterSpec {
  spark_version: string;
  node_type_id: string;
  num_workers: number;
  spark_conf?: Record<string, string>;
  custom_tags?: Record<string, string>;
  spark_env_vars?: Record<string, string>;
  docker_image?: { url: string; basic_auth?: { username: string; password: string } };
}

export interface JobCluster {
  job_cluster_key: string;
  new_cluster: ClusterSpec;
}

export interface JobTask {
  task_key: string;
  description?: string;
  depends_on?: { task_key: string; outcome?: string }[];
  run_if?: "ALL_SUCCESS" | "ALL_DONE" | "NONE_FAILED" | "AT_LEAST_ONE_SUCCESS" | "ALL_FAILED" | "AT_LEAST_ONE_FAILED";
  job_cluster_key?: string;
  spark_python_task?: { python_file: string; parameters?: string[]; source?: "WORKSPACE" | "GIT" };
  max_retries?: number;
  min_retry_interval_millis?: number;
  retry_on_timeout?: boolean;
  timeout_seconds?: number;
}

export interface JobSettings {
  name: string;
  description?: string;
  tags: Record<string, string>;
  max_concurrent_runs: number;
  format: "MULTI_TASK";
  parameters: { name: string; default: string }[];
  job_clusters: JobCluster[];
  tasks: JobTask[];
  email_notifications?: { on_start?: string[]; on_success?: string[]; on_failure?: string[] };
  run_as?: { user_name: string } | { service_principal_name: string };
  schedule?: { quartz_cron_expression: string; timezone_id: string; pause_status: "PAUSED" | "UNPAUSED" };
  timeout_seconds?: number;
}

export interface BaseJob {
  job_id: number;
  created_time?: number;
  settings: JobSettings;
}

export type LifeCycleState = "QUEUED" | "PENDING" | "RUNNING" | "TERMINATING" | "TERMINATED" | "SKIPPED" | "INTERNAL_ERROR" | "BLOCKED" | "WAITING_FOR_RETRY";
export type ResultState = "SUCCESS" | "FAILED" | "TIMEDOUT" | "CANCELED" | "MAXIMUM_CONCURRENT_RUNS_REACHED" | "EXCLUDED" | "SUCCESS_WITH_FAILURES" | "UPSTREAM_FAILED" | "UPSTREAM_CANCELED" | "DISABLED";

export interface RunState {
  life_cycle_state: LifeCycleState;
  result_state?: ResultState;
  state_message?: string;
}

export interface RunTask {
  run_id: number;
  task_key: string;
  state: RunState;
  attempt_number?: number;
  start_time?: number;
  end_time?: number;
}

export interface Run {
  job_id: number;
  run_id: number;
  run_page_url?: string;
  state: RunState;
  tasks?: RunTask[];
  job_parameters?: { name: string; default?: string; value?: string }[];
  /** Runs/get (2.2) pages the tasks of big runs. */
  next_page_token?: string;
  has_more?: boolean;
}

export interface RunOutput {
  logs?: string;
  logs_truncated?: boolean;
  error?: string;
  error_trace?: string;
  metadata?: Run & { task_key?: string };
}
