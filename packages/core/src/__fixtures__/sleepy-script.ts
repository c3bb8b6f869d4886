// A user's script (run as a child process by step-isolation.test.ts): pipeline.run() with a step that
// times out while awaiting a 30 s timer. The script must end soon after the run, not 30 s later.
import { join } from "node:path";
import { pipeline, step } from "../index.js";
import { testStack } from "./test-stack.js";

export const sleepy = step({ name: "sleepy", timeout: 1, cache: false }, async () => {
  await new Promise((resolve) => setTimeout(resolve, 30_000));
  return 1;
});
export const sleeper = pipeline({ name: "sleeper" }, () => void sleepy());

const dir = process.env.ORCH_TEST_DIR;
if (dir) {
  const result = await sleeper.run({ stack: testStack(join(dir, "artifacts")), projectRoot: process.cwd(), handleSignals: false });
  console.log(`run ${result.status}: ${result.step("sleepy")?.error?.code}`);
}
