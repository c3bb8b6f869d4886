/**
 * The dashboard (`orch up`), measured in Chromium the way a person meets it: a real `orch up` child
 * process, pages opened in a fresh tab, the browser's own paint timing.
 *
 *   run page of a 1,000-step run (20 layers × 50, two parents each): first contentful paint, on the
 *   first view after start (the DAG laid out then) and on later views (layout cached); and the time
 *   until the whole page with its DAG is loaded                                 budget: paint 1,000 ms
 *   runs page with 10,000 runs in the index: first paint of page 1, of page 100 and of a filter
 *
 * Without Chromium (apt-get install -y chromium) it reports the HTTP response times instead.
 * Run alone: `pnpm bench dashboard`.
 */
import { join } from "node:path";
import { median, type BenchResult } from "./measure.js";
import { LAYERED_1000_PIPELINE, chromiumPath, createProject, launchBrowser, newestRun, orchUp, seedRuns, type RunningDashboard } from "../packages/dashboard/test/harness.js";

const SAMPLES = 7;
const COLD_SAMPLES = 3;
const PAINT_BUDGET_MS = 1000;

type Timing = { paint: number; load: number };

export async function run(): Promise<BenchResult[]> {
  const project = createProject("bench-dashboard");
  const dashboards: RunningDashboard[] = [];
  const browser = chromiumPath() ? await launchBrowser() : undefined;
  try {
    if ((await project.orch(["init"])).code !== 0) throw new Error("orch init failed");
    project.write("layered.ts", LAYERED_1000_PIPELINE);
    const big = await project.orch(["pipeline", "run", "layered.ts"]);
    if (big.code !== 0) throw new Error(`the 1,000-step run failed: ${big.stderr}`);
    const dbFile = join(project.dir, ".orch", "orch.db");
    seedRuns(dbFile, 10_000);
    const runId = newestRun(dbFile, "layered_1000")!;

    const measure = async (url: string): Promise<Timing> => {
      if (!browser) {
        const start = performance.now();
        await (await fetch(url)).text();
        const ms = performance.now() - start;
        return { paint: ms, load: ms };
      }
      const page = await browser.newPage();
      try {
        await page.goto(url, { waitUntil: "load", timeout: 120_000 });
        // The paint entry can be reported after the load event: wait for it (buffered).
        return await page.evaluate(async () => {
          const paint = await new Promise<number>((resolve) => {
            new PerformanceObserver((list) => {
              const entry = list.getEntriesByName("first-contentful-paint")[0];
              if (entry) resolve(entry.startTime);
            }).observe({ type: "paint", buffered: true });
            setTimeout(() => resolve(-1), 10_000);
          });
          const navigation = performance.getEntriesByType("navigation")[0] as PerformanceNavigationTiming;
          return { paint, load: navigation.loadEventEnd };
        });
      } finally {
        await page.close();
      }
    };
    const start = async () => {
      const dashboard = await orchUp(project.dir);
      dashboards.push(dashboard);
      return dashboard;
    };

    // First view after each start: the DAG is laid out for that request.
    const cold: Timing[] = [];
    let dashboard!: RunningDashboard;
    for (let i = 0; i < COLD_SAMPLES; i++) {
      if (dashboard) await dashboard.stop();
      dashboard = await start();
      cold.push(await measure(`${dashboard.url}/runs/${runId}`));
    }
    const warm: Timing[] = [];
    for (let i = 0; i < SAMPLES; i++) warm.push(await measure(`${dashboard.url}/runs/${runId}`));
    const runsPage = async (path: string) => {
      await measure(`${dashboard.url}${path}`);
      const samples: Timing[] = [];
      for (let i = 0; i < SAMPLES; i++) samples.push(await measure(`${dashboard.url}${path}`));
      return median(samples.map((s) => s.paint));
    };
    const what = browser ? "first paint" : "HTTP response (no Chromium)";
    return [
      { name: `run page, 1,000 steps: ${what}, first view`, value: median(cold.map((s) => s.paint)), unit: "ms", budget: PAINT_BUDGET_MS },
      { name: `run page, 1,000 steps: ${what}, later views`, value: median(warm.map((s) => s.paint)), unit: "ms", budget: PAINT_BUDGET_MS },
      { name: `run page, 1,000 steps: page and DAG loaded, first view`, value: median(cold.map((s) => s.load)), unit: "ms" },
      { name: `runs page, 10,000 runs: ${what}, page 1`, value: await runsPage("/"), unit: "ms", budget: PAINT_BUDGET_MS },
      { name: `runs page, 10,000 runs: ${what}, page 100`, value: await runsPage("/?page=100"), unit: "ms", budget: PAINT_BUDGET_MS },
      { name: `runs page, 10,000 runs: ${what}, pipeline+status filter`, value: await runsPage("/?pipeline=etl&status=failed"), unit: "ms", budget: PAINT_BUDGET_MS },
    ];
  } finally {
    for (const dashboard of dashboards) await dashboard.stop();
    await browser?.close();
    project.remove();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const r of await run()) console.log(`${r.name.padEnd(64)} ${r.value.toFixed(1).padStart(8)} ${r.unit}`);
}
