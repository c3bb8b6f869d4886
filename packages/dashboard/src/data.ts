/**
 * Everything the pages show, read through the project's index (@orch/store-sqlite: fast listings)
 * and the run journal through @orch/core (the source of truth: snapshot, step records with their
 * errors and hints, logs, artifacts). Nothing here knows how a store lays out its files.
 */
import { createArtifactStore, loadOutput, readRunRecord, readStepRecord, readStepRecords, journalKeys, type ArtifactStore, type RunRecord, type StepRecord } from "@orch/core/plugin";
import { parseSnapshot } from "@orch/core/host";
import type { Snapshot } from "@orch/core";
import type { ComponentRow, OrchIndex, RunRow, StepRow } from "@orch/store-sqlite";

export interface DashboardProject {
  /** The folder holding `.orch/` (relative store paths are resolved from here). */
  root: string;
  /** The `.orch/` folder. */
  home: string;
}

/** What the run page needs: the index row, the snapshot (the DAG) and the freshest step records. */
export interface RunView {
  run: RunRow;
  record?: RunRecord | undefined;
  snapshot?: Snapshot | undefined;
  steps: Map<string, StepRecord | StepRow>;
  /** Node ids in topological order: the snapshot's order, then steps the snapshot does not list (dynamic runs). */
  order: string[];
  upstream: (stepId: string) => string[];
}

const MAX_LOG_BYTES = 256 * 1024;

export class DashboardData {
  private readonly stores = new Map<string, Promise<ArtifactStore | undefined>>();
  private readonly snapshots = new Map<string, Snapshot>();

  constructor(
    readonly index: OrchIndex,
    readonly project: DashboardProject,
  ) {}

  /** The artifact store holding a run's journal: its local folder, or the registered remote store whose uri it is. */
  storeOf(run: Pick<RunRow, "storeUri" | "storeFlavor">): Promise<ArtifactStore | undefined> {
    const key = `${run.storeFlavor}\0${run.storeUri}`;
    let store = this.stores.get(key);
    if (!store) {
      store = this.openStore(run).catch(() => undefined);
      this.stores.set(key, store);
    }
    return store;
  }

  private async openStore(run: Pick<RunRow, "storeUri" | "storeFlavor">): Promise<ArtifactStore | undefined> {
    if (!run.storeUri) return undefined;
    const flavor = run.storeFlavor?.replace(/_/g, "-");
    if (flavor === "local") return (await createArtifactStore({ name: "journal", flavor: "local", config: { path: run.storeUri } }, this.project.root)).store;
    for (const component of this.index.listComponents("artifact-store")) {
      if (component.flavor.replace(/_/g, "-") !== flavor) continue;
      try {
        const { store } = await createArtifactStore(componentSpec(component), this.project.root);
        if (store.uri === run.storeUri) return store;
      } catch {
        // that store's plugin is not installed or its config no longer opens: try the next one
      }
    }
    return undefined;
  }

  async snapshotOf(run: RunRow, store: ArtifactStore | undefined): Promise<Snapshot | undefined> {
    const cached = this.snapshots.get(run.runId);
    // A dynamic run's snapshot grows while it runs: re-read it until the run is over.
    if (cached && (run.status !== "running" || !cached.pipeline.dynamic)) return cached;
    const bytes = await store?.read(journalKeys.snapshot(run.runId)).catch(() => undefined);
    if (!bytes) return cached;
    try {
      const snapshot = parseSnapshot(JSON.parse(Buffer.from(bytes).toString("utf8")), `run ${run.runId}`);
      this.snapshots.set(run.runId, snapshot);
      return snapshot;
    } catch {
      return cached;
    }
  }

  /**
   * The run as the run page shows it; `undefined` when the index does not know it.
   *
   * Steps come from the index for a finished run (one query; the index holds a finished run's steps
   * as its journal does) and from the journal while it runs (the index of a run started without the
   * CLI lags behind it) or when the index has none — reading 1,000 step records costs ~250 ms here,
   * a query a few.
   */
  async runView(runId: string, options: { journal?: boolean } = {}): Promise<RunView | undefined> {
    const run = this.index.getRun(runId);
    if (!run) return undefined;
    const store = await this.storeOf(run);
    const rows = this.index.getSteps(runId);
    const fromJournal = options.journal ?? (run.status === "running" || rows.length === 0);
    const [snapshot, record, journalSteps] = await Promise.all([
      this.snapshotOf(run, store),
      store && run.status === "running" ? readRunRecord(store, runId).catch(() => undefined) : undefined,
      store && fromJournal ? readStepRecords(store, runId).catch(() => [] as StepRecord[]) : ([] as StepRecord[]),
    ]);
    // The journal is the truth; the index fills in when the journal cannot be read (a bucket that
    // is not registered here).
    const steps = new Map<string, StepRecord | StepRow>();
    for (const row of rows) steps.set(row.stepId, row);
    for (const step of journalSteps) steps.set(step.stepId, step);
    const order = [...new Set(snapshot?.order ?? [])];
    for (const id of steps.keys()) if (!order.includes(id)) order.push(id);
    const live = record && record.runId === runId ? { ...run, status: record.status, finishedAt: record.finishedAt, error: record.error ?? run.error } : run;
    return { run: live, record, snapshot, steps, order, upstream: (stepId) => snapshot?.steps[stepId]?.upstream ?? [] };
  }

  /** The run from the index alone (no journal read): what the page's first bytes show while the DAG is prepared. */
  indexView(runId: string): RunView | undefined {
    const run = this.index.getRun(runId);
    if (!run) return undefined;
    const steps = new Map<string, StepRecord | StepRow>(this.index.getSteps(runId).map((row) => [row.stepId, row]));
    return { run, steps, order: [...steps.keys()], upstream: () => [] };
  }

  /** One step's journal record (with its metadata, and its error's hint), when the journal can be read. */
  async stepRecord(run: RunRow, stepId: string): Promise<StepRecord | undefined> {
    const store = await this.storeOf(run);
    return store ? readStepRecord(store, run.runId, stepId).catch(() => undefined) : undefined;
  }

  /** The step's log, from byte `from` on (at most MAX_LOG_BYTES; earlier bytes are dropped with a note). */
  async log(run: RunRow, stepId: string, from = 0): Promise<{ text: string; size: number; truncated: boolean }> {
    const store = await this.storeOf(run);
    const bytes = await store?.read(journalKeys.log(run.runId, stepId)).catch(() => undefined);
    if (!bytes || bytes.byteLength <= from) return { text: "", size: bytes?.byteLength ?? from, truncated: false };
    let start = from;
    const truncated = bytes.byteLength - from > MAX_LOG_BYTES;
    if (truncated) start = bytes.byteLength - MAX_LOG_BYTES;
    return { text: Buffer.from(bytes.subarray(start)).toString("utf8"), size: bytes.byteLength, truncated };
  }

  /** Loads an output through core (its materializer, its integrity checks). */
  async loadOutput(run: RunRow, output: NonNullable<StepRecord["outputs"]>[string]): Promise<unknown> {
    const store = await this.storeOf(run);
    if (!store) throw new Error(`the run's artifact store (${run.storeUri ?? "unknown"}) is not registered here`);
    return loadOutput(store, output);
  }
}

export function componentSpec(component: ComponentRow) {
  return { name: component.name, flavor: component.flavor, config: component.config, ...(component.package ? { package: component.package } : {}) };
}

export const MAX_LOG = MAX_LOG_BYTES;
