// A step that always fails and has a retry policy, counting its attempts in a file: for backends that retry steps themselves.
import { appendFileSync } from "node:fs";
import { pipeline } from "../dsl/pipeline.js";
import { step } from "../dsl/step.js";
import { getStepContext } from "../run/step-context.js";

export const alwaysFails = step({ name: "always_fails", retry: { maxRetries: 2, delay: 0 }, cache: false }, (trace: string) => {
  appendFileSync(trace, `attempt ${getStepContext().attempt}\n`);
  throw new Error("this step always fails");
});

export const retrying = pipeline({ name: "retrying" }, (p: { trace: string }) => {
  alwaysFails(p.trace);
});
