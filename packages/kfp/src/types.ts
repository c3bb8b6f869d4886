/**
 * The JSON shapes of the KFP IR that orch writes (a subset of pipeline_spec.proto and
 * kubernetes_executor_config.proto, in their proto3 JSON mapping: lowerCamelCase keys, int64 as strings).
 */
export interface PipelineSpec {
  pipelineInfo: { name: string; displayName?: string; description?: string };
  sdkVersion: string;
  schemaVersion: string;
  components: Record<string, { executorLabel: string; inputDefinitions?: { parameters?: Record<string, unknown> } }>;
  deploymentSpec: { executors: Record<string, { container: PipelineContainerSpec }> };
  root: {
    dag: { tasks: Record<string, PipelineTaskSpec> };
    inputDefinitions?: { parameters?: Record<string, { parameterType: string; defaultValue?: unknown; isOptional?: boolean; description?: string }> };
  };
  defaultPipelineRoot?: string;
}

export interface PipelineContainerSpec {
  image: string;
  command?: string[];
  args?: string[];
  env?: { name: string; value: string }[];
  resources?: import("./resources.js").KfpResourceSpec;
}

export interface PipelineTaskSpec {
  taskInfo: { name: string };
  componentRef: { name: string };
  inputs?: { parameters?: Record<string, { componentInputParameter?: string; runtimeValue?: { constant: unknown } }> };
  dependentTasks?: string[];
  cachingOptions?: { enableCache?: boolean };
  retryPolicy?: import("./retry.js").KfpRetryPolicy;
}

/** kfp_kubernetes.KubernetesExecutorConfig (the fields orch writes). */
export interface KubernetesExecutorConfig {
  nodeSelector?: { labels: Record<string, string> };
  tolerations?: { key?: string; operator?: string; value?: string; effect?: string; tolerationSeconds?: number }[];
  secretAsEnv?: { secretName: string; secretNameParameter: unknown; keyToEnv: { secretKey: string; envVar: string }[]; optional?: boolean }[];
  pvcMount?: { constant: string; pvcNameParameter: unknown; mountPath: string; subPath?: string }[];
  imagePullSecret?: { secretName: string; secretNameParameter: unknown }[];
  imagePullPolicy?: string;
  podMetadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  /** int64: a string in proto3 JSON. */
  activeDeadlineSeconds?: string;
}

export interface PlatformSpec {
  platforms: { kubernetes: { deploymentSpec: { executors: Record<string, KubernetesExecutorConfig> } } };
}

export interface KfpCompileResult {
  pipelineSpec: PipelineSpec;
  /** Present when a step has Kubernetes settings (scheduling, secrets, volumes, deadline). */
  platformSpec?: PlatformSpec;
}
