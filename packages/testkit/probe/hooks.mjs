// Module resolution hooks of the SDK probe (see ../src/sdk-probe.ts): records every import the
// plugin entry's module graph resolves, as JSON lines in the file named by `initialize`.
import { appendFileSync } from "node:fs";

let out;

export async function initialize(data) {
  out = data.out;
}

export async function resolve(specifier, context, nextResolve) {
  const result = await nextResolve(specifier, context);
  if (out) appendFileSync(out, `${JSON.stringify({ kind: "import", specifier, parent: context.parentURL ?? null, url: result.url })}\n`);
  return result;
}
