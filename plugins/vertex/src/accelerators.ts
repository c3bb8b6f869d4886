/**
 * GPUs on Vertex AI: a step's `resources.gpuCount` needs a Vertex `AcceleratorType` (NVIDIA_TESLA_T4,
 * NVIDIA_L4 …), the enum of the aiplatform API itself — not a Kubernetes resource name such as
 * `nvidia.com/gpu`, which Vertex rejects. The names come from the SDK's protos, so a type Vertex
 * adds is accepted as soon as the SDK knows it.
 */
import { OrchError, closestMatch, type Snapshot } from "@orch/core/plugin";
import { protos } from "./client.js";
import type { VertexOrchestratorConfig } from "./config.js";

/** Every AcceleratorType name the API accepts (without ACCELERATOR_TYPE_UNSPECIFIED). */
export const ACCELERATOR_TYPES: readonly string[] = Object.keys(protos.google.cloud.aiplatform.v1.AcceleratorType).filter(
  (name) => Number.isNaN(Number(name)) && name !== "ACCELERATOR_TYPE_UNSPECIFIED",
);

/**
 * The AcceleratorType name for what the user wrote: the name itself, or the GKE spelling
 * (`nvidia-tesla-t4`, `nvidia-l4`). `where` names the setting in errors.
 */
export function acceleratorType(value: string, where: { key: string; step?: string }): string {
  const name = value.trim().toUpperCase().replace(/[-\s]+/g, "_");
  if (ACCELERATOR_TYPES.includes(name)) return name;
  const subject = `${where.key}${where.step ? ` of step "${where.step}"` : ""}`;
  if (/\//.test(value)) {
    throw new OrchError("E_SETTINGS_INVALID", {
      flavor: "vertex",
      key: where.key,
      message: `${subject} is "${value}", a Kubernetes resource name; Vertex AI takes an accelerator type (AcceleratorType), not a resource name.`,
      hint: `Use one of ${ACCELERATOR_TYPES.filter((t) => t.startsWith("NVIDIA")).join(", ")}.`,
    });
  }
  const close = closestMatch(name, ACCELERATOR_TYPES);
  throw new OrchError("E_SETTINGS_INVALID", {
    flavor: "vertex",
    key: where.key,
    message: `${subject} is "${value}", which is not a Vertex AI accelerator type.${close ? ` Did you mean ${close}?` : ""}`,
    hint: `Use one of ${ACCELERATOR_TYPES.join(", ")}.`,
  });
}

/**
 * The snapshot with each GPU step's accelerator type as Vertex names it (in `settings.vertex`, where the
 * KFP compiler reads it). A step asking for GPUs with no type anywhere is refused: Vertex has no
 * default GPU, and guessing one would bill the user for hardware they did not choose.
 */
export function withAcceleratorTypes(snapshot: Snapshot, config: Pick<VertexOrchestratorConfig, "acceleratorType">): Snapshot {
  const fallback = config.acceleratorType ? acceleratorType(config.acceleratorType, { key: "acceleratorType" }) : undefined;
  const steps: Snapshot["steps"] = {};
  for (const [id, step] of Object.entries(snapshot.steps)) {
    const vertex = (step.settings.flavors?.vertex ?? {}) as { acceleratorType?: string };
    const gpus = step.settings.resources?.gpuCount ?? 0;
    const named = vertex.acceleratorType ? acceleratorType(vertex.acceleratorType, { key: "settings.vertex.acceleratorType", step: id }) : undefined;
    if (gpus > 0 && !named && !fallback) {
      throw new OrchError("E_SETTINGS_INVALID", {
        flavor: "vertex",
        key: "settings.vertex.acceleratorType",
        message: `Step "${id}" asks for ${gpus} GPU${gpus === 1 ? "" : "s"} (resources.gpuCount), but names no accelerator type; Vertex AI needs one (e.g. NVIDIA_TESLA_T4, NVIDIA_L4).`,
        hint: 'Set it on the step (settings: { vertex: { acceleratorType: "NVIDIA_L4" } }) or for all steps in the orchestrator config (--acceleratorType=NVIDIA_L4).',
      });
    }
    const type = named ?? (gpus > 0 ? fallback : undefined);
    steps[id] = type ? { ...step, settings: { ...step.settings, flavors: { ...step.settings.flavors, vertex: { ...vertex, acceleratorType: type } } } } : step;
  }
  return { ...snapshot, steps };
}
