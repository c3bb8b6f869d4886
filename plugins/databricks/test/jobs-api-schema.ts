/**
 * A JSON schema (draft 2020-12, checked with ajv) of the Jobs API 2.2 fields orch emits, written from
 * the published API reference (docs.databricks.com/api/workspace/jobs/create): names, types, enums and
 * required fields as the reference defines them, every object closed (an unknown or misspelt field is an
 * error), and `quartz_cron_expression` a Quartz expression — seconds first, `?` in exactly one day field.
 */
const stringMap = { type: "object", additionalProperties: { type: "string" } } as const;
const closed = <T extends Record<string, unknown>>(properties: T, required: (keyof T & string)[] = []) => ({ type: "object", additionalProperties: false, properties, required }) as const;

const clusterSpec = closed(
  {
    spark_version: { type: "string", minLength: 1 },
    node_type_id: { type: "string", minLength: 1 },
    num_workers: { type: "integer", minimum: 0 },
    spark_conf: stringMap,
    custom_tags: stringMap,
    spark_env_vars: stringMap,
    docker_image: closed(
      {
        url: { type: "string", minLength: 1 },
        basic_auth: closed({ username: { type: "string" }, password: { type: "string", pattern: "^\\{\\{secrets/[\\w.-]+/[\\w.-]+\\}\\}$" } }, ["username", "password"]),
      },
      ["url"],
    ),
  },
  ["spark_version"],
);

const task = closed(
  {
    task_key: { type: "string", pattern: "^[\\w\\-.]+$", minLength: 1, maxLength: 100 },
    description: { type: "string", maxLength: 1000 },
    depends_on: { type: "array", items: closed({ task_key: { type: "string" }, outcome: { type: "string" } }, ["task_key"]) },
    run_if: { enum: ["ALL_SUCCESS", "ALL_DONE", "NONE_FAILED", "AT_LEAST_ONE_SUCCESS", "ALL_FAILED", "AT_LEAST_ONE_FAILED"] },
    job_cluster_key: { type: "string", pattern: "^[\\w\\-.]+$", minLength: 1, maxLength: 100 },
    spark_python_task: closed({ python_file: { type: "string", minLength: 1 }, parameters: { type: "array", items: { type: "string" } }, source: { enum: ["WORKSPACE", "GIT"] } }, ["python_file"]),
    max_retries: { type: "integer", minimum: -1 },
    min_retry_interval_millis: { type: "integer", minimum: 0 },
    retry_on_timeout: { type: "boolean" },
    timeout_seconds: { type: "integer", minimum: 0 },
  },
  ["task_key"],
);

export const JOB_SETTINGS_SCHEMA = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  ...closed(
    {
      name: { type: "string", maxLength: 4096 },
      description: { type: "string", maxLength: 27700 },
      tags: { type: "object", maxProperties: 25, additionalProperties: { type: "string", maxLength: 255 }, propertyNames: { maxLength: 127 } },
      max_concurrent_runs: { type: "integer", minimum: 0, maximum: 1000 },
      format: { enum: ["SINGLE_TASK", "MULTI_TASK"] },
      parameters: { type: "array", items: closed({ name: { type: "string", pattern: "^[\\w.-]+$" }, default: { type: "string" } }, ["name", "default"]) },
      job_clusters: { type: "array", maxItems: 100, items: closed({ job_cluster_key: { type: "string", pattern: "^[\\w\\-.]+$", minLength: 1, maxLength: 100 }, new_cluster: clusterSpec }, ["job_cluster_key", "new_cluster"]) },
      tasks: { type: "array", maxItems: 1000, items: task },
      email_notifications: closed({ on_start: { type: "array", items: { type: "string" } }, on_success: { type: "array", items: { type: "string" } }, on_failure: { type: "array", items: { type: "string" } } }),
      run_as: { oneOf: [closed({ user_name: { type: "string" } }, ["user_name"]), closed({ service_principal_name: { type: "string" } }, ["service_principal_name"])] },
      schedule: closed(
        {
          quartz_cron_expression: { type: "string", pattern: "^\\S+ \\S+ \\S+ (\\? \\S+ [^?\\s]+|[^?\\s]+ \\S+ \\?)( \\S+)?$" },
          timezone_id: { type: "string", minLength: 1 },
          pause_status: { enum: ["PAUSED", "UNPAUSED"] },
        },
        ["quartz_cron_expression", "timezone_id"],
      ),
      timeout_seconds: { type: "integer", minimum: 0 },
    },
    ["name"],
  ),
} as const;
