/** Validates a definition as SageMaker would before running it: the schema of what orch emits, then the cross-references. */
import { Ajv } from "ajv";
import { definitionSchema } from "./definition-schema.js";

const validate = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true }).compile(definitionSchema);

/** Every problem of `definition` (empty when it is valid). */
export function definitionProblems(definition: unknown): string[] {
  const problems: string[] = [];
  if (!validate(definition)) problems.push(...(validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message}${e.params ? ` ${JSON.stringify(e.params)}` : ""}`));
  const d = definition as { Parameters?: { Name: string }[]; Steps?: { Name: string; DependsOn?: string[]; Arguments?: unknown }[] };
  const names = new Set<string>();
  for (const step of d.Steps ?? []) {
    if (names.has(step.Name)) problems.push(`step name ${step.Name} is used twice`);
    names.add(step.Name);
  }
  const parameters = new Set((d.Parameters ?? []).map((p) => p.Name));
  if (parameters.size !== (d.Parameters ?? []).length) problems.push("a parameter name is used twice");
  for (const step of d.Steps ?? []) {
    for (const dep of step.DependsOn ?? []) if (!names.has(dep)) problems.push(`step ${step.Name} depends on unknown step ${dep}`);
    for (const match of JSON.stringify(step.Arguments ?? {}).matchAll(/"Get":"Parameters\.([^"]+)"/g)) {
      if (!parameters.has(match[1]!)) problems.push(`step ${step.Name} refers to undeclared parameter ${match[1]}`);
    }
  }
  return problems;
}
