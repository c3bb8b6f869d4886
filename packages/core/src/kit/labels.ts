/**
 * The one label vocabulary of every backend (Docker container and volume labels, Kubernetes labels,
 * cloud resource tags): a tool that finds orch's resources on one backend finds them the same way on
 * the next. Labels are for selecting; where a backend limits label values (Kubernetes: 63
 * characters of `[A-Za-z0-9_.-]`) the flavor sanitises them and puts the exact value in the
 * annotation of the same meaning ({@link ORCH_ANNOTATIONS}). Docker labels hold exact values.
 */
export const ORCH_LABELS = Object.freeze({
  /** Always `orch`: what orch created (the Kubernetes well-known label, used on every backend). */
  managedBy: "app.kubernetes.io/managed-by",
  /** The canonical flavor id that created it (`local-docker`). */
  flavor: "orch.dev/flavor",
  runId: "orch.dev/run-id",
  stepId: "orch.dev/step",
  pipeline: "orch.dev/pipeline",
  /** What the resource is for: `step`, `orchestrator`, `config`, `image`, `stop-request`. */
  component: "orch.dev/component",
  /** The schedule that started it. */
  schedule: "orch.dev/schedule",
});

/** Exact values where labels cannot hold them (Kubernetes annotations). */
export const ORCH_ANNOTATIONS = Object.freeze({
  runId: "orch.dev/run-id",
  stepId: "orch.dev/step-id",
  pipeline: "orch.dev/pipeline-name",
  /** The schedule as JSON. */
  schedule: "orch.dev/schedule-spec",
});

/** The value of {@link ORCH_LABELS}.managedBy. */
export const ORCH_MANAGED_BY = "orch";

/** The labels of a run's (or one step's) resources, exact values: managed-by, flavor, run, pipeline, step, component. */
export function runLabels(input: { flavor: string; runId: string; pipeline: string; stepId?: string; component?: string }): Record<string, string> {
  return {
    [ORCH_LABELS.managedBy]: ORCH_MANAGED_BY,
    [ORCH_LABELS.flavor]: input.flavor,
    [ORCH_LABELS.runId]: input.runId,
    [ORCH_LABELS.pipeline]: input.pipeline,
    ...(input.stepId !== undefined ? { [ORCH_LABELS.stepId]: input.stepId } : {}),
    ...(input.component !== undefined ? { [ORCH_LABELS.component]: input.component } : {}),
  };
}
