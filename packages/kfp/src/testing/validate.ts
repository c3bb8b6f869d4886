import { join } from "node:path";
import protobuf from "protobufjs";
import { parseAllDocuments } from "yaml";
import { checkMessage } from "./proto-check.js";

export interface KfpIr {
  pipelineSpec: unknown;
  platformSpec?: unknown;
}

export interface KfpValidator {
  /** Every problem found, as `path: message`; empty when the IR is valid. */
  validate(ir: KfpIr | string): string[];
  /** Throws an Error listing every problem. */
  assertValid(ir: KfpIr | string): void;
}

/**
 * A validator for KFP v2 IR built from the published protos in `conformanceDir/proto`: the PipelineSpec
 * (with its `deploymentSpec` Struct read as PipelineDeploymentConfig) and the PlatformSpec (each
 * Kubernetes executor Struct read as kfp_kubernetes.KubernetesExecutorConfig) are checked field by field
 * with unknown fields rejected; then the graph: components, executors, dependent tasks, cycles, inputs.
 */
export function createKfpValidator(conformanceDir: string): KfpValidator {
  const protoDir = join(conformanceDir, "proto");
  const root = new protobuf.Root();
  // google/protobuf/*.proto are bundled with protobufjs; everything else is in the conformance folder.
  root.resolvePath = (_origin, target) => (target.startsWith("google/protobuf/") ? target : join(protoDir, target.replace(/^.*\/proto\//, "")));
  root.loadSync(["pipeline_spec.proto", "kubernetes_executor_config.proto"], { keepCase: true });
  root.resolveAll();
  const types = {
    pipelineSpec: root.lookupType("ml_pipelines.PipelineSpec"),
    deploymentConfig: root.lookupType("ml_pipelines.PipelineDeploymentConfig"),
    platformSpec: root.lookupType("ml_pipelines.PlatformSpec"),
    kubernetesExecutor: root.lookupType("kfp_kubernetes.KubernetesExecutorConfig"),
  };

  function validate(input: KfpIr | string): string[] {
    const ir = typeof input === "string" ? parseIrText(input) : input;
    const errors: string[] = [];
    const spec = ir.pipelineSpec as Record<string, any>;
    checkMessage(types.pipelineSpec, spec, "pipelineSpec", errors);
    if (!isObject(spec)) return errors;
    if (spec.deploymentSpec !== undefined) checkMessage(types.deploymentConfig, spec.deploymentSpec, "pipelineSpec.deploymentSpec", errors);
    if (ir.platformSpec !== undefined) {
      checkMessage(types.platformSpec, ir.platformSpec, "platformSpec", errors);
      const executors = (ir.platformSpec as any)?.platforms?.kubernetes?.deploymentSpec?.executors;
      if (isObject(executors)) {
        for (const [label, config] of Object.entries(executors)) {
          checkMessage(types.kubernetesExecutor, config, `platformSpec.platforms.kubernetes.deploymentSpec.executors.${label}`, errors);
          if (!isObject(spec.deploymentSpec?.executors) || !(label in spec.deploymentSpec.executors)) {
            errors.push(`platformSpec: executor ${label} is not in pipelineSpec.deploymentSpec.executors`);
          }
        }
      }
    }
    checkGraph(spec, errors);
    return errors;
  }

  return {
    validate,
    assertValid(ir) {
      const errors = validate(ir);
      if (errors.length) throw new Error(`Invalid KFP IR (${errors.length} problem${errors.length === 1 ? "" : "s"}):\n  ${errors.slice(0, 50).join("\n  ")}`);
    },
  };
}

/** A YAML file as the KFP SDK writes it (PipelineSpec, then optionally `---` PlatformSpec) or JSON. */
export function parseIrText(text: string): KfpIr {
  const documents = parseAllDocuments(text);
  const values = (Array.isArray(documents) ? documents : [documents]).map((doc) => {
    if (doc.errors.length) throw new Error(`Not valid YAML/JSON: ${doc.errors[0]!.message}`);
    return doc.toJS() as unknown;
  });
  const pipelineSpec = values.find((v) => isObject(v) && !("platforms" in v));
  const platformSpec = values.find((v) => isObject(v) && "platforms" in v);
  return { pipelineSpec, ...(platformSpec !== undefined ? { platformSpec } : {}) };
}

/** What the protos cannot say: the references between components, tasks and executors, and acyclicity. */
function checkGraph(spec: Record<string, any>, errors: string[]): void {
  if (!spec.pipelineInfo?.name) errors.push("pipelineSpec.pipelineInfo.name: missing");
  if (!spec.schemaVersion) errors.push("pipelineSpec.schemaVersion: missing");
  if (!isObject(spec.root)) errors.push("pipelineSpec.root: missing");
  const components: Record<string, any> = isObject(spec.components) ? spec.components : {};
  const executors: Record<string, unknown> = isObject(spec.deploymentSpec?.executors) ? spec.deploymentSpec.executors : {};
  const usedExecutors = new Set<string>();
  const usedComponents = new Set<string>();

  const checkComponent = (component: any, where: string) => {
    if (!isObject(component)) return;
    if (component.executorLabel !== undefined) {
      usedExecutors.add(component.executorLabel);
      if (!(component.executorLabel in executors)) errors.push(`${where}.executorLabel: executor ${component.executorLabel} is not in deploymentSpec.executors`);
    } else if (!isObject(component.dag)) {
      errors.push(`${where}: has neither a dag nor an executorLabel`);
    }
    if (isObject(component.dag)) checkDag(component, where);
  };

  const checkDag = (component: any, where: string) => {
    const tasks: Record<string, any> = isObject(component.dag.tasks) ? component.dag.tasks : {};
    const inputs = new Set(Object.keys({ ...component.inputDefinitions?.parameters, ...component.inputDefinitions?.artifacts }));
    const edges = new Map<string, Set<string>>();
    for (const [name, task] of Object.entries(tasks)) {
      const path = `${where}.dag.tasks.${name}`;
      const deps = new Set<string>();
      for (const dep of task?.dependentTasks ?? []) {
        if (!(dep in tasks)) errors.push(`${path}.dependentTasks: task ${dep} does not exist`);
        deps.add(dep);
      }
      const ref = task?.componentRef?.name;
      const target = ref !== undefined ? components[ref] : undefined;
      if (ref === undefined) errors.push(`${path}.componentRef: missing`);
      else if (!target) errors.push(`${path}.componentRef: component ${ref} does not exist`);
      else usedComponents.add(ref);
      for (const kind of ["parameters", "artifacts"] as const) {
        for (const [inputName, input] of Object.entries<any>(task?.inputs?.[kind] ?? {})) {
          const inputPath = `${path}.inputs.${kind}.${inputName}`;
          // (A task may pass inputs its component does not declare: the KFP SDK does, for resource placeholders.)
          const producer = input?.taskOutputParameter?.producerTask ?? input?.taskOutputArtifact?.producerTask ?? input?.taskFinalStatus?.producerTask;
          if (producer !== undefined) {
            if (!(producer in tasks)) errors.push(`${inputPath}: producer task ${producer} does not exist`);
            deps.add(producer);
          }
          for (const parent of [input?.componentInputParameter, input?.componentInputArtifact]) {
            if (parent !== undefined && !inputs.has(parent)) errors.push(`${inputPath}: ${where} has no input ${parent}`);
          }
        }
      }
      edges.set(name, deps);
    }
    const cycle = findCycle(edges);
    if (cycle) errors.push(`${where}.dag: dependency cycle ${cycle.join(" → ")}`);
  };

  checkComponent(spec.root, "pipelineSpec.root");
  for (const [name, component] of Object.entries(components)) checkComponent(component, `pipelineSpec.components.${name}`);
  for (const label of Object.keys(executors)) if (!usedExecutors.has(label)) errors.push(`pipelineSpec.deploymentSpec.executors.${label}: no component uses this executor`);
  for (const name of Object.keys(components)) if (!usedComponents.has(name)) errors.push(`pipelineSpec.components.${name}: no task uses this component`);
}

function findCycle(edges: Map<string, Set<string>>): string[] | undefined {
  const state = new Map<string, "visiting" | "done">();
  const stack: string[] = [];
  const visit = (node: string): string[] | undefined => {
    if (state.get(node) === "done") return undefined;
    if (state.get(node) === "visiting") return [...stack.slice(stack.indexOf(node)), node];
    state.set(node, "visiting");
    stack.push(node);
    for (const next of edges.get(node) ?? []) {
      const found = edges.has(next) ? visit(next) : undefined;
      if (found) return found;
    }
    stack.pop();
    state.set(node, "done");
    return undefined;
  };
  for (const node of [...edges.keys()].sort()) {
    const found = visit(node);
    if (found) return found;
  }
  return undefined;
}

function isObject(value: unknown): value is Record<string, any> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
