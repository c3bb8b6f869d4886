import type { z } from "zod";

/**
 * Every problem zod found in one input, as the user should read them: one `key: message` line each, so
 * fixing the first bad key does not just reveal the next one. Unrecognized keys are named one by one
 * (`resources.cpu`), not as zod's "Unrecognized key(s)" summary of the parent.
 */
export interface ZodProblems {
  /** The keys involved, comma-separated (an OrchError's `key`); empty when the input itself is wrong. */
  key: string;
  /** One issue: `key: message`. Several: a count, then one indented `key: message` line per issue. */
  text: string;
  lines: string[];
}

export function describeZodIssues(error: z.ZodError): ZodProblems {
  const lines: string[] = [];
  const keys: string[] = [];
  for (const issue of error.issues) {
    const path = issue.path.map(String).join(".");
    if (issue.code === "unrecognized_keys") {
      for (const name of issue.keys) {
        const key = path ? `${path}.${name}` : name;
        keys.push(key);
        lines.push(`${key}: unknown key`);
      }
      continue;
    }
    if (path) keys.push(path);
    lines.push(path ? `${path}: ${issue.message}` : issue.message);
  }
  const text = lines.length === 1 ? lines[0]! : `${lines.length} problems:\n${lines.map((line) => `  ${line}`).join("\n")}`;
  return { key: [...new Set(keys)].join(", "), text, lines };
}
