import { fileURLToPath } from "node:url";

/** bin/orch.js of this package (src/ and dist/ both sit one level below the package root). */
export const BIN_PATH = fileURLToPath(new URL("../bin/orch.js", import.meta.url));
