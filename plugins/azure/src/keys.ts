import { OrchError } from "@orch/core/plugin";

/** The artifact-store key grammar of core (`runs/<id>/run.json` …): posix segments of [A-Za-z0-9_.-]. */
const KEY_PATTERN = /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*\/?$/;

/**
 * Refuses keys that could escape the store's prefix or that Azure would silently rename: "." and ".."
 * segments (URL normalisation would resolve them) and segments ending in "." (the Blob service drops
 * trailing dots from names, so `a.` and `a` would be the same blob).
 */
export function assertAzureKey(key: string, uri: string, options: { prefix?: boolean } = {}): void {
  const segments = key.split("/").filter(Boolean);
  const bad =
    !KEY_PATTERN.test(key) ? "keys are posix paths of letters, digits, \"_\", \"-\" and \".\" segments, without a leading \"/\""
    : segments.some((s) => s === "." || s === "..") ? "\".\" and \"..\" segments are not allowed"
    : segments.some((s) => s.endsWith(".")) ? "a segment ending in \".\" is not allowed (Azure drops trailing dots from blob names)"
    : !options.prefix && key.endsWith("/") ? "a key ending in \"/\" names a folder, not a blob"
    : undefined;
  if (bad) {
    throw new OrchError("E_USAGE", {
      flavor: "azure",
      key,
      message: `Unsafe artifact store key ${JSON.stringify(key)} for the azure store ${uri}: ${bad}.`,
      hint: "Keys come from orch's journal layout (runs/<runId>/…, artifacts/<id>/…); a custom materializer must build its keys from validated names.",
    });
  }
}
