/**
 * The KFP REST API v2beta1 objects this plugin sends and reads, as its published swagger
 * (backend/api/v2beta1/swagger/*.swagger.json) names them: snake_case fields, int64 as strings.
 * (ListRecurringRunsResponse really is `recurringRuns`, camelCase, in the swagger and on the wire.)
 */
export type RuntimeState = "RUNTIME_STATE_UNSPECIFIED" | "PENDING" | "RUNNING" | "SUCCEEDED" | "SKIPPED" | "FAILED" | "CANCELING" | "CANCELED" | "PAUSED";

export interface RpcStatus {
  code?: number;
  message?: string;
  details?: unknown[];
}

export interface Pipeline {
  pipeline_id: string;
  display_name?: string;
  name?: string;
  description?: string;
  created_at?: string;
  namespace?: string;
}

export interface PipelineVersion {
  pipeline_id: string;
  pipeline_version_id: string;
  display_name?: string;
  name?: string;
  description?: string;
  created_at?: string;
  pipeline_spec?: unknown;
}

export interface Experiment {
  experiment_id: string;
  display_name: string;
  namespace?: string;
  created_at?: string;
  storage_state?: "STORAGE_STATE_UNSPECIFIED" | "AVAILABLE" | "ARCHIVED";
}

export interface RuntimeConfig {
  parameters?: Record<string, unknown>;
  pipeline_root?: string;
}

export interface PipelineVersionReference {
  pipeline_id: string;
  pipeline_version_id: string;
}

export interface PipelineTaskDetail {
  run_id?: string;
  task_id?: string;
  display_name?: string;
  create_time?: string;
  start_time?: string;
  end_time?: string;
  state?: RuntimeState;
  error?: RpcStatus;
  pod_name?: string;
  child_tasks?: { task_id?: string; pod_name?: string }[];
}

export interface Run {
  run_id: string;
  experiment_id?: string;
  display_name: string;
  description?: string;
  pipeline_version_reference?: PipelineVersionReference;
  runtime_config?: RuntimeConfig;
  service_account?: string;
  created_at?: string;
  scheduled_at?: string;
  finished_at?: string;
  state?: RuntimeState;
  error?: RpcStatus;
  run_details?: { task_details?: PipelineTaskDetail[] };
  recurring_run_id?: string;
  state_history?: { update_time?: string; state?: RuntimeState; error?: RpcStatus }[];
}

export type NewRun = Omit<Run, "run_id" | "state" | "created_at" | "run_details" | "finished_at" | "scheduled_at" | "state_history" | "error">;

export interface RecurringRun {
  recurring_run_id: string;
  display_name: string;
  description?: string;
  pipeline_version_reference?: PipelineVersionReference;
  runtime_config?: RuntimeConfig;
  service_account?: string;
  max_concurrency?: string;
  trigger?: {
    cron_schedule?: { cron: string; start_time?: string; end_time?: string };
    periodic_schedule?: { interval_second: string; start_time?: string; end_time?: string };
  };
  mode?: "MODE_UNSPECIFIED" | "ENABLE" | "DISABLE";
  no_catchup?: boolean;
  namespace?: string;
  experiment_id?: string;
  status?: "STATUS_UNSPECIFIED" | "ENABLED" | "DISABLED";
  created_at?: string;
}

export type NewRecurringRun = Omit<RecurringRun, "recurring_run_id" | "created_at" | "status">;

/** A KFP list `filter`: the JSON form of its Filter proto. */
export interface Filter {
  predicates: { key: string; operation: "EQUALS" | "NOT_EQUALS" | "IS_SUBSTRING"; string_value?: string }[];
}
