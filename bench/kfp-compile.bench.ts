// @orch/kfp: compile time of a 200-step pipeline to KFP IR (toPipelineSpec, then the YAML writer), per
// step, and the validator's time on the result (tests only, but the vertex and kubeflow suites run it often).
import { compile, pipeline, step } from "@orch/core";
import { toKfpYaml, toPipelineSpec } from "../packages/kfp/src/index.js";
import { createKfpValidator, findKfpConformance } from "../packages/kfp/src/testing/index.js";
import type { BenchResult } from "./measure.js";
import { median, timeMs } from "./measure.js";

const RUNS = 7;
const STEPS = 200;
const link = step({ name: "link" }, (x: number) => x + 1);
const chain = pipeline({ name: "kfp_bench" }, () => {
  let x = link(0);
  for (let i = 1; i < STEPS; i++) x = link(x as unknown as number);
});

export async function run(): Promise<BenchResult[]> {
  const snapshot = compile(chain, {}, { projectRoot: process.cwd() });
  const options = { image: "registry.example.com/bench:1", projectRoot: "/app" };
  let yaml = "";
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) times.push(await timeMs(async () => void (yaml = toKfpYaml(toPipelineSpec(snapshot, options)))));
  const results: BenchResult[] = [{ name: `compile a ${STEPS}-step pipeline to KFP IR (YAML), per step`, value: (median(times) * 1000) / STEPS, unit: "µs" }];
  const conformance = findKfpConformance();
  if (conformance) {
    const validator = createKfpValidator(conformance);
    const validations: number[] = [];
    for (let i = 0; i < RUNS; i++) validations.push(await timeMs(async () => void validator.assertValid(yaml)));
    results.push({ name: `validate the ${STEPS}-step IR against KFP's protos`, value: median(validations), unit: "ms" });
  }
  return results;
}
