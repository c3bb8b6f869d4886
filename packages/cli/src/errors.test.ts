import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { clipUserInput, describeError } from "./errors.js";

// Regression tests for issue 9, items 14 and 17: environment errors said "this looks like a bug";
// a 10,000-character name was echoed in full.
const systemError = (code: string, syscall: string, path: string) => Object.assign(new Error(`${code}: ${syscall} '${path}'`), { code, syscall, path, errno: -1 });

describe("describeError", () => {
  it.each([
    ["EACCES", "open", /^Cannot open \/srv\/x\/.orch\/orch.db: permission denied \(EACCES\)\.$/, /permissions/],
    ["EROFS", "mkdir", /^Cannot mkdir \/srv\/x\/.orch\/orch.db: the file system is read-only \(EROFS\)\.$/, /writable location/],
    ["ENOTDIR", "mkdir", /a part of the path is a file, not a folder \(ENOTDIR\)/, /Remove or rename that file/],
    ["ENOSPC", "write", /no space left on the device \(ENOSPC\)/, /Free some disk space/],
    ["EEXIST", "mkdir", /a file is in the way: the path must be a folder \(EEXIST\)/, /Remove or rename/],
  ])("%s names the path and what is wrong with it (exit 2)", (code, syscall, message, hint) => {
    const report = describeError(systemError(code, syscall, "/srv/x/.orch/orch.db"));
    expect(report).toMatchObject({ code: "E_ENVIRONMENT", exitCode: 2 });
    expect(report.message).toMatch(message);
    expect(report.hint).toMatch(hint);
    expect(report.hint).not.toMatch(/bug/);
  });

  it("names the file that is in the way of a folder", () => {
    const dir = mkdtempSync(join(tmpdir(), "orch-errors-"));
    try {
      writeFileSync(join(dir, "store"), "a file");
      const report = describeError(systemError("ENOTDIR", "mkdir", join(dir, "store", "runs", "r1")));
      expect(report.message).toBe(`Cannot mkdir ${join(dir, "store", "runs", "r1")}: ${join(dir, "store")} is a file, not a folder (ENOTDIR).`);
      expect(report.hint).toBe(`Remove or rename ${join(dir, "store")}, or use another path.`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each([
    ["SQLITE_NOTADB", /it is not an orch index/],
    ["SQLITE_CORRUPT", /the index is corrupt/],
    ["SQLITE_READONLY", /the index is read-only/],
    ["SQLITE_CANTOPEN", /cannot be opened/],
    ["SQLITE_IOERR_SHORT_READ", /reading or writing the index failed/],
  ])("%s names the index file (exit 2)", (code, what) => {
    const error = Object.assign(new Error("sqlite says no"), { name: "SqliteError", code });
    const report = describeError(error, "/srv/x/.orch/orch.db");
    expect(report).toMatchObject({ code: "E_INDEX", exitCode: 2 });
    expect(report.message).toMatch(/^The orch index \/srv\/x\/.orch\/orch.db cannot be used: /);
    expect(report.message).toMatch(what);
  });

  it("keeps the codes of orch's own errors; run failures and unavailable backends exit 1, the rest 2", () => {
    expect(describeError(Object.assign(new Error("[orch] cluster down"), { name: "OrchError", code: "E_BACKEND_UNAVAILABLE", hint: "check it" }))).toEqual({ code: "E_BACKEND_UNAVAILABLE", message: "cluster down", hint: "check it", exitCode: 1 });
    expect(describeError(Object.assign(new Error("[orch] bad"), { name: "OrchError", code: "E_CONFIG_INVALID", hint: "fix" }))).toEqual({ code: "E_CONFIG_INVALID", message: "bad", hint: "fix", exitCode: 2 });
    expect(describeError(Object.assign(new Error("failed"), { name: "OrchError", code: "E_STEP_FAILED" })).exitCode).toBe(1);
    expect(describeError(Object.assign(new Error("missing"), { name: "IndexError", code: "E_NOT_FOUND" }))).toMatchObject({ code: "E_NOT_FOUND", exitCode: 2 });
  });

  it("calls only the unexpected a bug (exit 1)", () => {
    expect(describeError(new TypeError("x is undefined"))).toMatchObject({ code: "E_INTERNAL", exitCode: 1, unexpected: true, hint: expect.stringMatching(/bug/) });
    expect(describeError("a string").message).toBe("a string");
  });
});

describe("clipUserInput", () => {
  it("shortens every long argument where a message echoes it, raw or JSON-escaped", () => {
    const huge = "n".repeat(10_000);
    const quoted = 'q"'.repeat(100);
    const text = clipUserInput(`Stack "${huge}" and ${JSON.stringify(quoted)} and ${huge}`, ["stack", "set", huge, `--name=${quoted}`]);
    expect(text.length).toBeLessThan(300);
    expect(text).toBe(`Stack "${"n".repeat(79)}…" and ${JSON.stringify(`${quoted.slice(0, 79)}…`)} and ${"n".repeat(79)}…`);
  });

  it("leaves short input and unrelated text alone, and caps anything else huge", () => {
    expect(clipUserInput('Stack "prod" is not registered.', ["stack", "set", "prod"])).toBe('Stack "prod" is not registered.');
    expect(clipUserInput("y".repeat(5000), []).length).toBe(2000);
  });
});
