/**
 * The dashboard in a real browser (Chromium from the system's packages, driven by puppeteer-core),
 * served by a real `orch up` child process, showing runs made by real pipelines — checked for what a
 * person sees. `pnpm --filter @orch/dashboard screenshots` also writes the README's screenshots.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "puppeteer-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FAILING_PIPELINE, GATED_PIPELINE, PACKAGE_DIR, REPO_DIR, browserAvailability, cliEnv, createProject, launchBrowser, newestRun, orchUp, seedRuns, waitFor, type RunningDashboard, type TempProject } from "./harness.js";

const { available, reason } = browserAvailability();
const SCREENSHOTS = process.env.ORCH_DASHBOARD_SCREENSHOTS === "1";

const nodeStatus = (page: Page, step: string) => page.$eval(`svg.dag a.node[data-step="${step}"]`, (el) => el.getAttribute("data-status"));

describe.skipIf(!available)(`dashboard in Chromium${available ? "" : ` — ${reason}`}`, () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
  });

  describe("a project where the quickstart ran", () => {
    const quickstart = join(REPO_DIR, "examples", "quickstart");
    const home = join(mkdtempSync(join(tmpdir(), "orch-dashboard-qs-")), ".orch");
    let dashboard: RunningDashboard;
    beforeAll(async () => {
      // `pnpm quickstart`: pipeline.run() without the CLI writes only the journal; the dashboard finds it.
      const run = spawnSync(process.execPath, ["--conditions=@orch/source", "--import", "tsx", "src/main.ts"], { cwd: quickstart, env: cliEnv({ ORCH_HOME: home }), encoding: "utf8" });
      expect(run.status, run.stderr).toBe(0);
      dashboard = await orchUp(quickstart, { ORCH_HOME: home });
    });
    afterAll(async () => {
      await dashboard?.stop();
    });

    it("lists the run, draws its DAG with one node per step and the right edges, and opens a step's panel with previews and log", async () => {
      const page = await browser.newPage();
      await page.goto(`${dashboard.url}/`);
      const row = await page.$eval("table.runs tbody tr", (tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent?.trim()));
      expect(row[1]).toBe("iris_training");
      expect(row[3]).toBe("✓ succeeded");
      expect(row[4]).toBe("0 cached / 5");

      await Promise.all([page.waitForNavigation(), page.click("table.runs tbody tr a")]);
      const nodes = await page.$$eval("svg.dag a.node", (els) => els.map((el) => [el.getAttribute("data-step"), el.getAttribute("data-status"), el.querySelector("text.state")?.textContent]));
      expect(nodes.map((n) => n[0]).sort()).toEqual(["evaluate_model", "load_data", "promote_model", "split_data", "train_model"]);
      for (const [, status, label] of nodes) {
        expect(status).toBe("succeeded");
        expect(label).toMatch(/^✓ succeeded · /); // the status in words, not only a colour
      }
      const edges = await page.$$eval("svg.dag path.edge", (els) => els.map((el) => `${el.getAttribute("data-from")}→${el.getAttribute("data-to")}`).sort());
      expect(edges).toEqual(["evaluate_model→promote_model", "load_data→split_data", "split_data→evaluate_model", "split_data→train_model", "train_model→evaluate_model", "train_model→promote_model"]);

      await Promise.all([page.waitForNavigation(), page.click('svg.dag a.node[data-step="load_data"]')]);
      expect(new URL(page.url()).pathname).toMatch(/^\/runs\/[^/]+\/steps\/load_data$/);
      const panel = await page.$eval("#panel", (el) => el.textContent ?? "");
      expect(panel).toContain("classNames"); // the dataset, pretty-printed JSON
      expect(panel).toContain("versicolor");
      expect(await page.$eval("#log", (el) => el.textContent)).toContain("loaded 150 iris flowers, 3 classes");

      // The model is a class instance its own materializer restores: described, not dumped.
      await page.goto(page.url().replace(/load_data$/, "promote_model"));
      const decision = await page.$eval('#panel .output[data-output="output"]', (el) => el.textContent ?? "");
      expect(decision).toMatch(/"promoted": true/);
      expect(await page.$eval("#panel", (el) => el.textContent)).toMatch(/Metadata[\s\S]*"trees": 25/);
      await page.close();
    });

    it("is usable from the keyboard: Tab reaches a DAG node and Enter opens its panel", async () => {
      const page = await browser.newPage();
      await page.goto(`${dashboard.url}/`);
      const runHref = await page.$eval("table.runs tbody tr a", (a) => a.getAttribute("href")!);
      await page.goto(`${dashboard.url}${runHref}`);
      // Tab until a DAG node has the focus.
      let focused: string | null = null;
      for (let i = 0; i < 30 && !focused; i++) {
        await page.keyboard.press("Tab");
        focused = await page.evaluate(() => (document.activeElement?.matches("svg.dag a.node") ? document.activeElement.getAttribute("data-step") : null));
      }
      expect(focused).toBeTruthy();
      await Promise.all([page.waitForNavigation(), page.keyboard.press("Enter")]);
      expect(await page.$eval("#panel", (el) => el.getAttribute("data-step"))).toBe(focused);
      await page.close();
    });

    it("shows pipelines with their versions and stacks with the active one marked", async () => {
      const page = await browser.newPage();
      await page.goto(`${dashboard.url}/pipelines`);
      const text = await page.$eval("main", (el) => el.textContent ?? "");
      expect(text).toContain("iris_training");
      expect(await page.$$eval("table.versions tbody tr", (rows) => rows.length)).toBe(1);
      await page.goto(`${dashboard.url}/stacks`);
      expect(await page.$eval('section.stack[data-stack="default"] h2', (el) => el.textContent)).toContain("★ active");
      await page.close();
    });
  });

  describe("a project with runs going on", () => {
    let project: TempProject;
    let dashboard: RunningDashboard;
    const dbFile = () => join(project.dir, ".orch", "orch.db");
    beforeAll(async () => {
      project = createProject("dashboard-live");
      project.write("gated.ts", GATED_PIPELINE);
      project.write("failing.ts", FAILING_PIPELINE);
      expect((await project.orch(["init"])).code).toBe(0);
      // A run resumed from the dashboard runs in a process `orch up` starts: it sees this gate.
      dashboard = await orchUp(project.dir, { GATE: join(project.dir, "gate-resume") });
    });
    afterAll(async () => {
      await dashboard?.stop();
      project?.remove();
    });

    it("turns a node from running to succeeded and follows the step's log without a reload; the runs page follows too", async () => {
      const gate = join(project.dir, "gate-1");
      const run = project.start(["pipeline", "run", "gated.ts"], { GATE: gate });
      const runId = await waitFor(() => newestRun(dbFile(), "gated"), "the gated run in the index");
      const page = await browser.newPage();
      await page.setViewport({ width: 1280, height: 640 });
      await page.goto(`${dashboard.url}/runs/${runId}/steps/second`);
      await page.waitForFunction(() => document.querySelector('svg.dag a.node[data-step="second"]')?.getAttribute("data-status") === "running", { timeout: 30_000 });
      await page.waitForFunction(() => document.querySelector("#log")?.textContent?.includes("waiting for the gate"), { timeout: 30_000 });
      expect(await nodeStatus(page, "third")).toBe("pending");
      if (SCREENSHOTS) await page.screenshot({ path: join(PACKAGE_DIR, "docs", "run-running.png") });
      await page.evaluate(() => ((window as unknown as { sameDocument: boolean }).sameDocument = true));
      // The runs page lists it as running, and keeps its row up to date.
      const list = await browser.newPage();
      await list.goto(`${dashboard.url}/`);
      const rowStatus = (id: string) => list.$eval(`tr[data-run="${id}"] .badge`, (el) => el.getAttribute("data-status"));
      expect(await rowStatus(runId)).toBe("running");
      await list.evaluate(() => ((window as unknown as { sameDocument: boolean }).sameDocument = true));

      writeFileSync(gate, "");
      await page.bringToFront(); // (a background tab has no animation frames to poll with)
      await page.waitForFunction(() => document.querySelector('svg.dag a.node[data-step="third"]')?.getAttribute("data-status") === "succeeded", { timeout: 30_000 });
      expect(await nodeStatus(page, "second")).toBe("succeeded");
      await page.waitForFunction(() => document.querySelector("#log")?.textContent?.includes("the gate is open"), { timeout: 30_000 });
      await page.waitForFunction(() => document.querySelector("[data-run-status] .badge")?.getAttribute("data-status") === "succeeded", { timeout: 30_000 });
      // Still the same document: the page was updated in place, not reloaded.
      expect(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);
      expect((await run.result).code).toBe(0);
      await list.bringToFront();
      await list.waitForFunction((id) => document.querySelector(`tr[data-run="${id}"] .badge`)?.getAttribute("data-status") === "succeeded", { timeout: 30_000 }, runId);
      expect(await list.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);
      await list.close();
      if (SCREENSHOTS) {
        await page.goto(`${dashboard.url}/runs/${runId}/steps/third`);
        await page.screenshot({ path: join(PACKAGE_DIR, "docs", "run-finished.png") });
      }
      await page.close();
    });

    it("shows a failed step's error, and escapes what the step produced", async () => {
      expect((await project.orch(["pipeline", "run", "failing.ts"])).code).toBe(1);
      const runId = newestRun(dbFile(), "failing")!;
      const page = await browser.newPage();
      await page.goto(`${dashboard.url}/runs/${runId}`);
      expect(await nodeStatus(page, "check")).toBe("failed");
      expect(await page.$eval('svg.dag a.node[data-step="check"] text.state', (el) => el.textContent)).toMatch(/^✗ failed/);
      await Promise.all([page.waitForNavigation(), page.click('svg.dag a.node[data-step="check"]')]);
      expect(await page.$eval("[data-step-error]", (el) => el.textContent)).toContain("expected 3 rows, got 2");
      // The input's table preview shows the text, never markup from it.
      await page.goto(`${dashboard.url}/runs/${runId}/steps/rows`);
      expect(await page.$$eval("table.records tbody tr", (rows) => rows.map((r) => r.textContent))).toEqual(["1Zürich <b>", "2Oslo"]);
      expect(await page.$("table.records b")).toBeNull();
      await page.close();
    });

    it("stops and resumes a run from the UI with the token; without it the page offers no buttons", async () => {
      const gate = join(project.dir, "gate-never");
      const run = project.start(["pipeline", "run", "gated.ts"], { GATE: gate });
      const before = newestRun(dbFile(), "gated");
      const runId = await waitFor(() => {
        const id = newestRun(dbFile(), "gated");
        return id !== before ? id : undefined;
      }, "the second gated run");

      const anonymous = await browser.createBrowserContext();
      const readOnly = await anonymous.newPage();
      await readOnly.goto(`${dashboard.url}/runs/${runId}`);
      expect(await readOnly.$("form[data-action]")).toBeNull();
      expect(await readOnly.$eval(".readonly", (el) => el.textContent)).toMatch(/Read-only/);
      await anonymous.close();

      const page = await browser.newPage();
      await page.goto(dashboard.urlWithToken); // sets the cookie, then drops the token from the URL
      expect(page.url()).toBe(`${dashboard.url}/`);
      await page.goto(`${dashboard.url}/runs/${runId}`);
      await page.waitForFunction(() => document.querySelector('svg.dag a.node[data-step="second"]')?.getAttribute("data-status") === "running", { timeout: 30_000 });
      // The page reloads once the stop is done.
      await Promise.all([page.waitForNavigation({ timeout: 60_000 }), page.click('form[data-action="stop"] button')]);
      expect(await page.$eval("[data-run-status] .badge", (el) => el.getAttribute("data-status"))).toBe("stopped");
      expect((await run.result).code).not.toBe(0);
      expect(await nodeStatus(page, "first")).toBe("succeeded");
      expect(await page.$('form[data-action="stop"]')).toBeNull(); // nothing left to stop

      // Resume from the UI: the finished step is reused, the rest runs (its gate is open now).
      writeFileSync(join(project.dir, "gate-resume"), "");
      await Promise.all([page.waitForNavigation({ timeout: 60_000 }), page.click('form[data-action="resume"] button')]);
      await page.waitForFunction(() => document.querySelector("[data-run-status] .badge")?.getAttribute("data-status") === "succeeded", { timeout: 60_000, polling: 200 });
      expect(await nodeStatus(page, "third")).toBe("succeeded");
      await page.close();
    });
  });

  describe("a project with 10,000 runs", () => {
    let project: TempProject;
    let dashboard: RunningDashboard;
    beforeAll(async () => {
      project = createProject("dashboard-many");
      expect((await project.orch(["init"])).code).toBe(0);
      seedRuns(join(project.dir, ".orch", "orch.db"), 10_000);
      dashboard = await orchUp(project.dir);
    });
    afterAll(async () => {
      await dashboard?.stop();
      project?.remove();
    });

    it("pages newest first and filters by pipeline and status", async () => {
      const page = await browser.newPage();
      await page.goto(`${dashboard.url}/`);
      expect(await page.$eval("h1 .count", (el) => el.textContent)).toBe("10,000");
      const firstPage = await page.$$eval("table.runs tbody tr", (rows) => rows.map((r) => r.getAttribute("data-run")));
      expect(firstPage).toHaveLength(50);
      expect(firstPage[0]).toBe("run-09999");
      await Promise.all([page.waitForNavigation(), page.click('.pager a[rel="next"]')]);
      expect(await page.$eval("table.runs tbody tr", (r) => r.getAttribute("data-run"))).toBe("run-09949");
      expect(await page.$eval(".pager span", (el) => el.textContent)).toBe("page 2 of 200");

      await page.select('select[name="pipeline"]', "etl");
      await page.select('select[name="status"]', "failed");
      await Promise.all([page.waitForNavigation(), page.click(".filters button")]);
      expect(await page.$eval("h1 .count", (el) => el.textContent)).toBe("1,000");
      const filtered = await page.$$eval("table.runs tbody tr", (rows) => rows.map((r) => [r.children[1]!.textContent, r.children[3]!.textContent]));
      expect(new Set(filtered.map(([p, s]) => `${p} ${s}`))).toEqual(new Set(["etl ✗ failed"]));
      await page.close();
    });
  });
});

// Where the README's screenshots go (committed; refreshed by `pnpm --filter @orch/dashboard screenshots`).
if (SCREENSHOTS) mkdirSync(join(PACKAGE_DIR, "docs"), { recursive: true });
