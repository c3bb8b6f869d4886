import { step, pipeline, getStepContext } from "@orch/core";
const a = step({ name: "a" }, () => 1);
const b = step({ name: "b" }, (x: number, y: number) => { getStepContext().logger.info("hello"); return x + y; });
const p = pipeline({ name: "smoke" }, () => { const x = a(); b(x, 2); b(x, 3); });
const r = await p.run();
console.log(r.status, r.steps.map(s => `${s.stepId}:${s.status}`), await r.load(b), await r.load(b, { id: "b_2" }));
