// A step that waits until a file exists: lets tests signal a process while the step is running, without timing.
import { existsSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { pipeline } from "../dsl/pipeline.js";
import { step } from "../dsl/step.js";
import { getStepContext } from "../run/step-context.js";

export const waitForGate = step({ name: "wait_for_gate" }, async (gate: string) => {
  const { signal } = getStepContext();
  while (!existsSync(gate)) {
    signal.throwIfAborted(); // a well-behaved step ends when the run is stopped
    await sleep(50);
  }
  return "opened";
});

export const gated = pipeline({ name: "gated" }, (p: { gate: string }) => {
  waitForGate(p.gate);
});
