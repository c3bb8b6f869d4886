import { describe, expect, it } from "vitest";
import { isValidMemory, parseMemory, toDockerBytes, toK8sQuantity } from "./memory.js";

describe("parseMemory", () => {
  it.each([
    ["8GB", 8_000_000_000],
    ["8GiB", 8_589_934_592],
    ["512MiB", 536_870_912],
    ["1.5GiB", 1_610_612_736],
    ["100KB", 100_000],
    ["2TB", 2_000_000_000_000],
    ["1PiB", 1_125_899_906_842_624],
    ["1.1GB", 1_100_000_000],
    ["1024", 1024],
    ["1024B", 1024],
    ["8 GB", 8_000_000_000],
  ])("reads %s as %d bytes (KB…PB decimal, KiB…PiB binary)", (value, bytes) => {
    expect(parseMemory(value).bytes).toBe(bytes);
  });

  it("keeps the written unit and amount", () => {
    expect(parseMemory("1.5GiB")).toEqual({ bytes: 1_610_612_736, unit: "GiB", amount: 1.5 });
    expect(parseMemory("1024")).toEqual({ bytes: 1024, unit: "B", amount: 1024 });
  });

  it.each([
    ["8G", 'unknown unit "G" (did you mean "8GB"?)'],
    ["8Gi", 'unknown unit "Gi" (did you mean "8GiB"?)'],
    ["8gb", 'unknown unit "gb" (did you mean "8GB"?)'],
    ["8XB", 'unknown unit "XB"'],
    ["1.5B", "not a whole number of bytes"],
    ["0GB", "must be greater than zero"],
    ["-1GB", "expected a number followed by a unit"],
    ["8  GB", "expected a number followed by a unit"],
    ["", "expected a number followed by a unit"],
    ["10PiB", "too large"],
  ])("rejects %j with E_MEMORY_INVALID explaining why", (value, reason) => {
    expect(() => parseMemory(value)).toThrow(
      expect.objectContaining({
        code: "E_MEMORY_INVALID",
        message: expect.stringContaining(`Invalid memory "${value}": ${reason}`),
        hint: expect.stringContaining("KiB, MiB, GiB, TiB, PiB"),
      }),
    );
    expect(isValidMemory(value)).toBe(false);
  });
});

describe("toK8sQuantity", () => {
  it.each([
    ["8GB", "8G"],
    ["8GiB", "8Gi"],
    ["512MiB", "512Mi"],
    ["1024MiB", "1024Mi"],
    ["1.5GiB", "1536Mi"],
    ["1.5GB", "1500M"],
    ["0.5KiB", "512"],
    ["100KB", "100k"],
    ["2TB", "2T"],
    ["1PiB", "1Pi"],
    ["1024", "1024"],
    ["1024B", "1024"],
  ])("converts %s to %s", (value, quantity) => {
    expect(toK8sQuantity(value)).toBe(quantity);
  });
});

describe("toDockerBytes", () => {
  it("gives Docker an integer byte count", () => {
    expect(toDockerBytes("512MiB")).toBe(536_870_912);
    expect(toDockerBytes("4GB")).toBe(4_000_000_000);
  });
});
