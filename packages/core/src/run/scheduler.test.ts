import { describe, expect, it } from "vitest";
import { createScheduler, type LaunchOutcome } from "./scheduler.js";

/** diamond: a → (b, c) → d, plus an independent e. */
const diamond: [string, string[]][] = [
  ["a", []],
  ["b", ["a"]],
  ["c", ["a"]],
  ["d", ["b", "c"]],
  ["e", []],
];

function harness(options: { concurrency?: number; failFast?: boolean; fail?: string[]; signal?: AbortSignal; hold?: Promise<void> }) {
  const events: string[] = [];
  let running = 0;
  let maxRunning = 0;
  const scheduler = createScheduler({
    concurrency: options.concurrency ?? 10,
    failFast: options.failFast ?? true,
    signal: options.signal,
    async launch(id, signal): Promise<LaunchOutcome> {
      events.push(`start ${id}`);
      running++;
      maxRunning = Math.max(maxRunning, running);
      await new Promise((resolve) => setTimeout(resolve, 5));
      if (options.hold) await Promise.race([options.hold, new Promise((resolve) => signal.addEventListener("abort", resolve))]);
      running--;
      events.push(`end ${id}`);
      if (signal.aborted) return "stopped";
      return options.fail?.includes(id) ? "failed" : "succeeded";
    },
  });
  return { scheduler, events, maxRunning: () => maxRunning };
}

describe("createScheduler", () => {
  it("starts a step only after all its upstream steps ended", async () => {
    const { scheduler, events } = harness({});
    for (const [id, up] of diamond) void scheduler.add(id, up);
    scheduler.close();
    const states = await scheduler.done();
    expect([...states.values()].every((s) => s === "succeeded")).toBe(true);
    for (const [id, up] of diamond) {
      for (const parent of up) expect(events.indexOf(`end ${parent}`)).toBeLessThan(events.indexOf(`start ${id}`));
    }
    // independent steps overlap: b and c both start before either ends
    expect(events.indexOf("start c")).toBeLessThan(events.indexOf("end b"));
  });

  it("never runs more steps at once than the concurrency limit", async () => {
    const { scheduler, maxRunning } = harness({ concurrency: 3 });
    for (let i = 0; i < 20; i++) void scheduler.add(`s${i}`, []);
    scheduler.close();
    await scheduler.done();
    expect(maxRunning()).toBe(3);
  });

  it("runs strictly one at a time with concurrency 1", async () => {
    const { scheduler, maxRunning } = harness({ concurrency: 1 });
    for (const [id, up] of diamond) void scheduler.add(id, up);
    scheduler.close();
    await scheduler.done();
    expect(maxRunning()).toBe(1);
  });

  it("fail-fast: stops launching at the first failure and skips the rest", async () => {
    const { scheduler, events } = harness({ concurrency: 1, failFast: true, fail: ["a"] });
    for (const [id, up] of diamond) void scheduler.add(id, up);
    scheduler.close();
    const states = await scheduler.done();
    expect(states.get("a")).toBe("failed");
    expect(states.get("e")).toBe("skipped"); // independent, but fail-fast stops everything not started
    expect(events.filter((e) => e.startsWith("start"))).toEqual(["start a"]);
  });

  it("continue-on-failure: skips only what depends on the failed step", async () => {
    const { scheduler } = harness({ failFast: false, fail: ["b"] });
    for (const [id, up] of diamond) void scheduler.add(id, up);
    scheduler.close();
    const states = await scheduler.done();
    expect(Object.fromEntries(states)).toEqual({ a: "succeeded", b: "failed", c: "succeeded", d: "skipped", e: "succeeded" });
  });

  it("cancellation: stops launching, tells running steps, ends the rest stopped", async () => {
    const controller = new AbortController();
    let release!: () => void;
    const hold = new Promise<void>((resolve) => (release = resolve));
    const { scheduler, events } = harness({ signal: controller.signal, hold, concurrency: 1 });
    for (const [id, up] of diamond) void scheduler.add(id, up);
    scheduler.close();
    await new Promise((resolve) => setTimeout(resolve, 20));
    controller.abort();
    const states = await scheduler.done();
    release();
    expect(states.get("a")).toBe("stopped"); // the running step saw the signal
    expect([...states.values()].filter((s) => s === "stopped")).toHaveLength(5);
    expect(events.filter((e) => e.startsWith("start"))).toEqual(["start a"]);
  });

  it("accepts nodes added while running (dynamic pipelines)", async () => {
    const { scheduler } = harness({});
    const first = scheduler.add("first", []);
    expect(await first).toBe("succeeded");
    const second = scheduler.add("second", ["first"]);
    scheduler.close();
    expect(await second).toBe("succeeded");
    expect((await scheduler.done()).size).toBe(2);
  });
});
