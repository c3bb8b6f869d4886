/**
 * The @orch/testkit conformance suite against this plugin, the loopback workspace (which executes the
 * job settings: every step a task whose launcher runs `orch-entrypoint step` as a process) and s3rver.
 */
import { basename } from "node:path";
import { afterAll } from "vitest";
import { testOrchestratorPlugin } from "@orch/testkit";
import s3 from "@orch/plugin-s3";
import plugin from "./index.js";
import { entrypointCommand, runCommand, pluginRoot, TOKEN } from "../test/project.js";
import { startFakeDatabricks } from "../test/fake-databricks.js";
import { startS3rver } from "../../s3/test/s3rver.js";

const bucket = "orch-dbx-conformance";
const s3rver = await startS3rver([bucket]);
const workspace = await startFakeDatabricks({ token: TOKEN });
afterAll(async () => {
  await workspace.close();
  await s3rver.stop();
});

testOrchestratorPlugin({
  plugin,
  config: { host: workspace.url, token: TOKEN, image: "orch-node-base:local", projectRoot: pluginRoot, entrypointCommand, runCommand, pollSeconds: 0.2 },
  packageRoot: pluginRoot,
  projectRoot: pluginRoot,
  artifactStore: (dir) => ({
    flavor: "s3",
    plugin: s3,
    config: { path: `s3://${bucket}/${basename(dir)}`, endpoint: s3rver.endpoint, forcePathStyle: true, ...s3rver.credentials },
  }),
  // Resources map to a node type (a job cluster), which a loopback process cannot show; the mapping is checked in job-settings.test.ts.
  skip: { resources: "steps run as local processes in the loopback workspace (node types checked in job-settings.test.ts)" },
});
