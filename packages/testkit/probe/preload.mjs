// Preloaded (node --import) by the SDK probe: records every module the plugin entry loads, through
// ESM resolve hooks and CommonJS require, into the file named by ORCH_TESTKIT_PROBE_OUT.
import { appendFileSync } from "node:fs";
import Module, { register } from "node:module";
import { pathToFileURL } from "node:url";

const out = process.env.ORCH_TESTKIT_PROBE_OUT;
if (out) {
  register(new URL("./hooks.mjs", import.meta.url), { data: { out } });
  const original = Module._resolveFilename;
  Module._resolveFilename = function resolveFilename(request, parent, ...rest) {
    const resolved = original.call(this, request, parent, ...rest);
    const url = resolved.startsWith("/") ? pathToFileURL(resolved).href : resolved;
    const parentUrl = parent?.filename ? pathToFileURL(parent.filename).href : null;
    appendFileSync(out, `${JSON.stringify({ kind: "require", specifier: request, parent: parentUrl, url })}\n`);
    return resolved;
  };
}
