/**
 * @orch/cli — the `orch` command. Programmatic entry for embedding and tests.
 *
 * @example
 * import { main } from "@orch/cli";
 * await main(["node", "orch", "stack", "list", "--json"]);
 *
 * @module
 */
export { main, buildProgram } from "./main.js";
