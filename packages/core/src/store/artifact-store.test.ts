import { describe, expect, it } from "vitest";
import { assertSafeKey } from "./artifact-store.js";

describe("artifact store keys", () => {
  it.each(["runs/r1/run.json", "artifacts/a.b-c_d/data", "runs/__/logs/...log", "cache/abc/", "a"])("accepts %s", (key) => {
    expect(() => assertSafeKey(key)).not.toThrow();
  });

  it.each([
    ["a parent segment", "runs/../etc"],
    ["a current-folder segment", "runs/./x"],
    ["a segment ending in a dot (dropped by Azure and Windows)", "runs/trailing./x"],
    ["a last segment ending in a dot", "runs/x/data."],
    ["an absolute key", "/runs/x"],
    ["an empty segment", "runs//x"],
    ["a space", "runs/a b"],
    ["an empty key", ""],
    ["a backslash", "runs\\x"],
  ])("refuses %s", (_what, key) => {
    expect(() => assertSafeKey(key)).toThrow(/Unsafe artifact store key/);
  });
});
