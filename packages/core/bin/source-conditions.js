// Module resolve hook for running orch-entrypoint from its TypeScript sources: adds the "@orch/source" condition.
export async function resolve(specifier, context, nextResolve) {
  const conditions = context.conditions.includes("@orch/source") ? context.conditions : [...context.conditions, "@orch/source"];
  return nextResolve(specifier, { ...context, conditions });
}
