/** The KFP ParameterType of a JSON value (the types the KFP SDK gives Python values). */
export type KfpParameterType = "NUMBER_DOUBLE" | "NUMBER_INTEGER" | "STRING" | "BOOLEAN" | "LIST" | "STRUCT";

export function parameterType(value: unknown): KfpParameterType {
  if (typeof value === "number") return Number.isInteger(value) ? "NUMBER_INTEGER" : "NUMBER_DOUBLE";
  if (typeof value === "boolean") return "BOOLEAN";
  if (Array.isArray(value)) return "LIST";
  if (value !== null && typeof value === "object") return "STRUCT";
  return "STRING";
}
