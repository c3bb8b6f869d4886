import { describe, expect, it } from "vitest";
import { RUN_ID_PATTERN } from "../names.js";
import { backendRunId, runIdFromEnvironment } from "./backend-run-id.js";

describe("backendRunId", () => {
  it("keeps a name that is a valid run id, and maps others deterministically to distinct valid ids", () => {
    expect(backendRunId("careful_rain_8k2mmbpc2l")).toBe("careful_rain_8k2mmbpc2l");
    expect(backendRunId("16e6f0e6-eb24-4d41-971c-c15bcfe9df76")).toBe("16e6f0e6-eb24-4d41-971c-c15bcfe9df76");
    const odd = ["a.b", "a:b", "-leading", "x".repeat(64), "x".repeat(200), "nächtlich", "a/../b", "日本"];
    const ids = odd.map(backendRunId);
    for (const id of ids) expect(id).toMatch(RUN_ID_PATTERN);
    expect(new Set(ids).size).toBe(odd.length);
    expect(odd.map(backendRunId)).toEqual(ids);
  });
});

describe("runIdFromEnvironment", () => {
  it("is undefined without $ORCH_RUN_ID_FROM, reads the variable it names, refuses one unset or empty", () => {
    expect(runIdFromEnvironment({})).toBeUndefined();
    expect(runIdFromEnvironment({ ORCH_RUN_ID_FROM: "AZUREML_ROOT_RUN_ID", AZUREML_ROOT_RUN_ID: "job_1" })).toBe("job_1");
    expect(() => runIdFromEnvironment({ ORCH_RUN_ID_FROM: "AZUREML_ROOT_RUN_ID" })).toThrow(expect.objectContaining({ code: "E_USAGE", message: expect.stringContaining("$AZUREML_ROOT_RUN_ID is not set") }));
    expect(() => runIdFromEnvironment({ ORCH_RUN_ID_FROM: "AZUREML_ROOT_RUN_ID", AZUREML_ROOT_RUN_ID: "" })).toThrow(/is empty/);
  });
});
